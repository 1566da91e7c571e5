package testenv

import (
	"net"
	"sync"
)

// Proxy is a TCP proxy between one client (an orchestrator replica's Redis
// client) and a server, that can black-hole the connection: Blackhole stops
// forwarding in both directions without closing anything, so bytes sit in
// kernel buffers as they do while TCP retransmits into a dead network path,
// and new connections are accepted but not forwarded. Restore resumes;
// connections the client gave up on meanwhile are closed upstream once
// forwarding resumes.
type Proxy struct {
	// Addr is the proxy's host:port on loopback, for the client.
	Addr string

	target string
	ln     net.Listener

	mu     sync.Mutex
	open   chan struct{} // closed while forwarding
	conns  map[net.Conn]bool
	closed bool
	wg     sync.WaitGroup
}

// StartProxy listens on a free loopback port and forwards to target.
func StartProxy(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	open := make(chan struct{})
	close(open)
	p := &Proxy{Addr: ln.Addr().String(), target: target, ln: ln, open: open, conns: map[net.Conn]bool{}}
	p.wg.Go(p.accept)
	return p, nil
}

// Blackhole stops forwarding.
func (p *Proxy) Blackhole() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.open:
		p.open = make(chan struct{})
	default:
	}
}

// Restore resumes forwarding.
func (p *Proxy) Restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.open:
	default:
		close(p.open)
	}
}

// Close stops the proxy and closes every connection.
func (p *Proxy) Close() {
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.Restore()
	_ = p.ln.Close()
	p.wg.Wait()
}

// gate waits while the proxy is black-holed; false once it is closed.
func (p *Proxy) gate() bool {
	p.mu.Lock()
	open := p.open
	p.mu.Unlock()
	<-open
	p.mu.Lock()
	defer p.mu.Unlock()
	return !p.closed
}

func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		_ = c.Close()
		return false
	}
	p.conns[c] = true
	return true
}

func (p *Proxy) forget(c net.Conn) {
	_ = c.Close()
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

func (p *Proxy) accept() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		if !p.track(client) {
			return
		}
		p.wg.Go(func() { p.serve(client) })
	}
}

// serve connects client to the target once forwarding is on, then pumps
// both ways.
func (p *Proxy) serve(client net.Conn) {
	defer p.forget(client)
	if !p.gate() {
		return
	}
	server, err := net.Dial("tcp", p.target)
	if err != nil || !p.track(server) {
		return
	}
	defer p.forget(server)
	done := make(chan struct{}, 2)
	go func() { p.pump(server, client); done <- struct{}{} }()
	go func() { p.pump(client, server); done <- struct{}{} }()
	<-done
	_ = client.Close()
	_ = server.Close()
	<-done
}

// pump copies src to dst, holding what it read while black-holed.
func (p *Proxy) pump(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		if !p.gate() {
			return
		}
		n, err := src.Read(buf)
		if n > 0 {
			if !p.gate() {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
