package gate

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"syscall"

	"github.com/agent-smith/agent-smith/sandbox"
)

// CredentialFD is the descriptor git's credential helper inherits from
// the gate's git: one end of a socket whose other end the gate answers.
const CredentialFD = 3

// maxCredentialRequest bounds what a helper sends the gate.
const maxCredentialRequest = 16 << 10

// serveCredential answers the credential requests on conn until it is at
// EOF: the first `get` for the remote's protocol and host gets cred, any
// other (and every one without cred) an empty answer: git then fails
// without a credential.
func serveCredential(conn *os.File, remote *url.URL, cred *sandbox.GitCredential) {
	r := bufio.NewReader(io.LimitReader(conn, maxCredentialRequest))
	answered := false
	for {
		attrs, err := readAttributes(r)
		if err != nil {
			return
		}
		reply := "\n"
		if cred != nil && !answered && attrs["protocol"] == remote.Scheme && attrs["host"] == remote.Host && remote.Scheme != "file" {
			answered = true
			reply = "username=" + cred.Username + "\npassword=" + cred.Password + "\n\n"
		}
		if _, err := io.WriteString(conn, reply); err != nil {
			return
		}
	}
}

// readAttributes reads key=value lines up to a blank line.
func readAttributes(r *bufio.Reader) (map[string]string, error) {
	attrs := map[string]string{}
	for {
		line, err := r.ReadString('\n')
		line = strings.TrimSuffix(line, "\n")
		if line == "" {
			if err != nil && len(attrs) == 0 {
				return nil, err
			}
			return attrs, nil
		}
		k, v, _ := strings.Cut(line, "=")
		attrs[k] = v
		if err != nil {
			return attrs, nil
		}
	}
}

// Helper is `sandbox-gate credential OPERATION`, the credential helper the
// gate's git runs: for `get` it passes git's request to the gate over
// CredentialFD and the answer back; `store` and `erase` are ignored.
func Helper(op string, stdin io.Reader, stdout io.Writer) error {
	if op != "get" {
		return nil
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(CredentialFD, &st); err != nil || st.Mode&syscall.S_IFMT != syscall.S_IFSOCK {
		return errors.New("no credential socket: this helper only answers the gate's git")
	}
	conn := os.NewFile(CredentialFD, "credential")
	defer func() { _ = conn.Close() }()
	req, err := io.ReadAll(io.LimitReader(stdin, maxCredentialRequest))
	if err != nil {
		return fmt.Errorf("read git's request: %w", err)
	}
	if _, err := fmt.Fprintf(conn, "%s\n\n", strings.TrimRight(string(req), "\n")); err != nil {
		return fmt.Errorf("ask the gate: %w", err)
	}
	attrs, err := readAttributes(bufio.NewReader(io.LimitReader(conn, maxCredentialRequest)))
	if err != nil {
		return fmt.Errorf("the gate's answer: %w", err)
	}
	for _, k := range []string{"username", "password"} {
		if v, ok := attrs[k]; ok {
			if _, err := fmt.Fprintf(stdout, "%s=%s\n", k, v); err != nil {
				return err
			}
		}
	}
	return nil
}
