package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is a redis-server child process owned by a test package.
type Redis struct {
	// Addr is host:port on loopback.
	Addr string

	dir  string
	args []string
	// shipped: started as manifests/redis.yaml does (see
	// WithShippedConfig); clients log in as username.
	shipped  bool
	username string
	password string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	output *bytes.Buffer
}

// RedisOption adjusts how the server is started.
type RedisOption func(*Redis)

// WithAppendOnly enables AOF persistence (`--appendonly yes`, as in the
// seed's StatefulSet) so that Restart keeps the data set.
func WithAppendOnly() RedisOption {
	return func(r *Redis) { r.args = append(r.args, "--appendonly", "yes", "--appendfsync", "always") }
}

// WithAOF enables AOF persistence with the fsync policy given (always,
// everysec, no) and no automatic rewrite, so the data set lives in one base
// file and one incremental file that AOFSize and TruncateAOF work on.
func WithAOF(fsync string) RedisOption {
	return func(r *Redis) {
		r.args = append(r.args, "--appendonly", "yes", "--appendfsync", fsync, "--auto-aof-rewrite-percentage", "0")
	}
}

// WithShippedConfig starts the server as manifests/redis.yaml does: the
// StatefulSet's own script writes the ACL file from REDIS_PASSWORD (a
// random one here) and starts redis-server with the ConfigMap's
// redis.conf (maxmemory, noeviction, AOF), paths moved into the server's
// directory. Clients log in as the agent-smith user (URL, Client); the
// default user may only PING.
func WithShippedConfig() RedisOption {
	return func(r *Redis) { r.shipped = true }
}

// StartRedis starts redis-server in the foreground as a child process on a
// free loopback port, with its working directory in a fresh temporary
// directory that Stop removes. Without persistence options nothing is written.
func StartRedis(opts ...RedisOption) (*Redis, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, errors.New("redis-server is not installed: run `make test-deps` (installs Debian's redis-server) or `apt-get install -y redis-server`")
	}
	dir, err := os.MkdirTemp("", "agent-smith-redis-")
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	// hz 100: blocking reads time out within 10ms of their deadline (the
	// default 10 makes it 100ms), as the tests' scaled-down heartbeat TTLs
	// and block timeouts need.
	r := &Redis{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), dir: dir,
		args: []string{"--save", "", "--appendonly", "no", "--hz", "100"}}
	for _, o := range opts {
		o(r)
	}
	if r.shipped {
		r.args = nil // the shipped redis.conf decides
		if err := r.shipConfig(); err != nil {
			_ = os.RemoveAll(dir)
			return nil, err
		}
	}
	if err := r.start(bin); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	return r, nil
}

func (r *Redis) start(bin string) error {
	host, port, _ := net.SplitHostPort(r.Addr)
	args := append([]string{"--bind", host, "--port", port, "--dir", r.dir,
		"--daemonize", "no", "--protected-mode", "no", "--loglevel", "warning"}, r.args...)
	cmd := exec.Command(bin, args...)
	if r.shipped {
		// The container's script, which execs redis-server with these.
		cmd = exec.Command("sh", append([]string{filepath.Join(r.dir, "start.sh")}, args...)...)
		cmd.Env = append(os.Environ(), "REDIS_PASSWORD="+r.password, "PATH="+filepath.Dir(bin)+":"+os.Getenv("PATH"))
	}
	out := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	// A separate process group keeps a Ctrl-C of `go test` from racing our Stop.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	r.mu.Lock()
	r.cmd, r.exited, r.output = cmd, exited, out
	r.mu.Unlock()

	client := redis.NewClient(&redis.Options{Addr: r.Addr, MaxRetries: -1})
	defer client.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case <-exited:
			return fmt.Errorf("redis-server exited at start: %s", out.String())
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := client.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			r.kill()
			return fmt.Errorf("redis-server on %s not answering after 10s: %v; output: %s", r.Addr, err, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// URL is the redis:// URL of the server, with the credentials of the
// shipped configuration.
func (r *Redis) URL() string {
	if r.shipped {
		return "redis://" + r.username + ":" + r.password + "@" + r.Addr
	}
	return "redis://" + r.Addr
}

// Credentials are the user name and password clients log in with (empty
// without WithShippedConfig).
func (r *Redis) Credentials() (username, password string) { return r.username, r.password }

// Client returns a new client for the server, closed when the test ends.
func (r *Redis) Client(t testing.TB) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: r.Addr, Username: r.username, Password: r.password})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// Flush removes every key, so a test starts from an empty data set
// (without FLUSHALL, which the shipped configuration's user may not run).
func (r *Redis) Flush(t testing.TB) {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: r.Addr, Username: r.username, Password: r.password})
	defer c.Close()
	ctx := context.Background()
	if !r.shipped {
		if err := c.FlushAll(ctx).Err(); err != nil {
			t.Fatalf("flush redis: %v", err)
		}
		return
	}
	iter := c.Scan(ctx, 0, "*", 1000).Iterator()
	for iter.Next(ctx) {
		if err := c.Unlink(ctx, iter.Val()).Err(); err != nil {
			t.Fatalf("flush redis: %v", err)
		}
	}
	if err := iter.Err(); err != nil {
		t.Fatalf("flush redis: %v", err)
	}
}

// Kill stops the server abruptly (SIGKILL), as a crash would.
func (r *Redis) Kill() { r.kill() }

// Restart stops the server gracefully and starts it again on the same port
// and directory; with WithAppendOnly the data set survives.
func (r *Redis) Restart() error {
	r.stop(syscall.SIGTERM)
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return err
	}
	return r.start(bin)
}

// Start starts a server stopped by Kill, on the same port and directory.
func (r *Redis) Start() error {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return err
	}
	return r.start(bin)
}

// Stop stops the server and removes its directory.
func (r *Redis) Stop() {
	r.stop(syscall.SIGTERM)
	_ = os.RemoveAll(r.dir)
}

func (r *Redis) kill() { r.stop(syscall.SIGKILL) }

func (r *Redis) stop(sig syscall.Signal) {
	r.mu.Lock()
	cmd, exited := r.cmd, r.exited
	r.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGCONT) // a paused server must run to stop
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
}

// Dir is the server's working directory (AOF files live here).
func (r *Redis) Dir() string { return filepath.Clean(r.dir) }

// Pause stops the server's process (SIGSTOP): it neither answers nor
// expires anything, and clients' connections stay open, as when its node or
// network stalls. Resume continues it.
func (r *Redis) Pause() error { return r.signal(syscall.SIGSTOP) }

// Resume continues a paused server (SIGCONT).
func (r *Redis) Resume() error { return r.signal(syscall.SIGCONT) }

func (r *Redis) signal(sig syscall.Signal) error {
	r.mu.Lock()
	cmd := r.cmd
	r.mu.Unlock()
	if cmd == nil {
		return errors.New("redis-server is not running")
	}
	return syscall.Kill(-cmd.Process.Pid, sig)
}

// AOFSize is the size of the server's incremental AOF file as written so
// far (WithAOF): what survives a kill -9, fsynced or not.
func (r *Redis) AOFSize() (int64, error) {
	path, err := r.incrAOF()
	if err != nil {
		return 0, err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// TruncateAOF cuts the incremental AOF file of a killed server back to
// size, as a node crash loses what was written but not yet fsynced; Redis
// loads a file cut in the middle of a command or transaction up to the last
// whole one.
func (r *Redis) TruncateAOF(size int64) error {
	path, err := r.incrAOF()
	if err != nil {
		return err
	}
	return os.Truncate(path, size)
}

// incrAOF is the path of the incremental file the AOF manifest names.
func (r *Redis) incrAOF() (string, error) {
	dir := filepath.Join(r.dir, "appendonlydir")
	manifests, err := filepath.Glob(filepath.Join(dir, "*.manifest"))
	if err != nil || len(manifests) != 1 {
		return "", fmt.Errorf("AOF manifest in %s: found %d (%v); start the server WithAOF", dir, len(manifests), err)
	}
	data, err := os.ReadFile(manifests[0])
	if err != nil {
		return "", err
	}
	var incr string
	for line := range strings.Lines(string(data)) {
		f := strings.Fields(line)
		if len(f) >= 6 && f[0] == "file" && f[5] == "i" {
			incr = f[1]
		}
	}
	if incr == "" {
		return "", fmt.Errorf("AOF manifest %s names no incremental file", manifests[0])
	}
	return filepath.Join(dir, incr), nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// RedisClient is a client of the server at addr logging in as user with
// password (neither: the default user), closed when the test ends.
func RedisClient(t testing.TB, addr, user, password string) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: addr, Username: user, Password: password, MaxRetries: -1})
	t.Cleanup(func() { _ = c.Close() })
	return c
}
