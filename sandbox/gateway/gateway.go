package gateway

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"log"
	"math/big"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/go-logr/logr"

	"github.com/agent-smith/agent-smith/sandbox"
)

// Options tune a Gateway. Zero values take the defaults.
type Options struct {
	// Grace is added to a step's timeout to form its deadline: the agent's
	// time to kill a process group and deliver the result. Default 30s.
	Grace time.Duration
	// DeadAfter is how long a role may be silent (no poll open, nothing
	// uploaded) before it counts as gone. Default 15s: a loaded node can
	// starve a live agent for seconds, and a step it is still running
	// would be lost; a dead one is found a few seconds later, no more.
	DeadAfter time.Duration
	// PollHold is how long a poll is held when there is nothing to say.
	// Default 20s.
	PollHold time.Duration
	// ShutdownWait bounds how long Release waits for the agent and the
	// gate to acknowledge their shutdown. Default 10s.
	ShutdownWait time.Duration
	// TLS serves HTTPS with a certificate made by New, which clients pin
	// (CertPEM); without it the API is plain HTTP, for loopback only.
	TLS bool
	Log logr.Logger
}

func (o Options) withDefaults() Options {
	if o.Grace <= 0 {
		o.Grace = 30 * time.Second
	}
	if o.DeadAfter <= 0 {
		o.DeadAfter = 15 * time.Second
	}
	if o.PollHold <= 0 {
		o.PollHold = 20 * time.Second
	}
	if o.ShutdownWait <= 0 {
		o.ShutdownWait = 10 * time.Second
	}
	return o
}

// forgetAfter is how long a released job is still answered 410, and how
// long a job no pipeline opened is kept for the agent that polls it.
const forgetAfter = time.Hour

// Gateway is the sandbox API of one orchestrator process.
type Gateway struct {
	opts    Options
	key     []byte
	cert    *tls.Certificate
	certPEM []byte

	mu       sync.Mutex
	jobs     map[string]*Job
	released map[string]time.Time
}

// Tokens are the credentials of one job's sandbox: the agent's and the
// gate's.
type Tokens struct {
	Agent, Gate string
}

// New makes a gateway with a fresh key (and certificate, with TLS).
func New(opts Options) (*Gateway, error) {
	g := &Gateway{opts: opts.withDefaults(), key: make([]byte, 32), jobs: map[string]*Job{}, released: map[string]time.Time{}}
	if _, err := rand.Read(g.key); err != nil {
		return nil, fmt.Errorf("sandbox API key: %w", err)
	}
	if g.opts.TLS {
		cert, certPEM, err := selfSigned()
		if err != nil {
			return nil, fmt.Errorf("sandbox API certificate: %w", err)
		}
		g.cert, g.certPEM = cert, certPEM
	}
	return g, nil
}

// Tokens returns the tokens of job.
func (g *Gateway) Tokens(job string) Tokens {
	return Tokens{Agent: g.token(sandbox.RoleAgent, job), Gate: g.token(sandbox.RoleGate, job)}
}

func (g *Gateway) token(role, job string) string {
	m := hmac.New(sha256.New, g.key)
	m.Write([]byte("agent-smith/sandbox/v1\x00" + role + "\x00" + job))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// CertPEM is the certificate clients pin, nil without TLS. It is public.
func (g *Gateway) CertPEM() []byte { return g.certPEM }

// Serve serves the API on l until ctx ends.
func (g *Gateway) Serve(ctx context.Context, l net.Listener) error {
	srv := &http.Server{
		Handler: g.Handler(),
		// Sandboxes are untrusted clients: slow or huge requests are cut.
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       time.Minute,
		WriteTimeout:      g.opts.PollHold + 30*time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    8 << 10,
		ErrorLog:          log.New(logWriter{g.opts.Log}, "", 0),
	}
	if g.cert != nil {
		l = tls.NewListener(l, &tls.Config{Certificates: []tls.Certificate{*g.cert}, MinVersion: tls.VersionTLS13})
	}
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		<-ctx.Done()
		// Held polls would keep a graceful shutdown waiting: agents retry.
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if srv.Shutdown(sctx) != nil {
			_ = srv.Close()
		}
	}()
	err := srv.Serve(l)
	if errors.Is(err, http.ErrServerClosed) {
		<-stopped
		return nil
	}
	return err
}

// Open returns the job of id for the pipeline, created if its agent has
// not polled yet. It fails for a job released before.
func (g *Gateway) Open(id string) (*Job, error) {
	if err := sandbox.ValidateJobID(id); err != nil {
		return nil, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.pruneLocked(time.Now())
	if _, gone := g.released[id]; gone {
		return nil, fmt.Errorf("job %s: %w", id, sandbox.ErrReleased)
	}
	j := g.jobLocked(id)
	j.opened = true
	return j, nil
}

// job returns the job a valid token names, nil once it was released.
func (g *Gateway) job(id string) *Job {
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, gone := g.released[id]; gone {
		return nil
	}
	j := g.jobLocked(id)
	j.lastUsed = time.Now()
	return j
}

func (g *Gateway) jobLocked(id string) *Job {
	j, ok := g.jobs[id]
	if !ok {
		j = newJob(g, id)
		g.jobs[id] = j
	}
	return j
}

// forget drops a released job; it is answered 410 from now on.
func (g *Gateway) forget(id string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.jobs, id)
	g.released[id] = time.Now()
}

// pruneLocked drops what nobody will ask about again: jobs released long
// ago, and jobs whose agent polled but no pipeline opened (a run that
// ended before it provisioned) once they are quiet.
func (g *Gateway) pruneLocked(now time.Time) {
	for id, at := range g.released {
		if now.Sub(at) > forgetAfter {
			delete(g.released, id)
		}
	}
	for id, j := range g.jobs {
		if !j.opened && now.Sub(j.lastUsed) > forgetAfter {
			delete(g.jobs, id)
		}
	}
}

// selfSigned makes the API's certificate: ECDSA P-256, valid for a year
// (a process lives far shorter), for the name clients expect of the
// certificate they pin.
func selfSigned() (*tls.Certificate, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: "agent-smith sandbox API"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(365 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames: []string{sandbox.APIServerName},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

// logWriter takes the HTTP server's complaints (a sandbox's failed TLS
// handshakes, say) into the debug log.
type logWriter struct{ log logr.Logger }

func (w logWriter) Write(p []byte) (int, error) {
	w.log.V(1).Info("sandbox API", "msg", string(p))
	return len(p), nil
}
