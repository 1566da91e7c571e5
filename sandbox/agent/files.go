package agent

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/agent-smith/agent-smith/sandbox"
)

// Size caps of the file kinds: what one result may carry to the model and
// what one write may put on disk.
const (
	readCap  = 1 << 20
	writeCap = 10 << 20
)

var bom = []byte{0xEF, 0xBB, 0xBF}

func (x *executor) readFile(step sandbox.Step) (sandbox.StepResult, error) {
	var res sandbox.StepResult
	rel, err := x.ws.rel(step.Path)
	if err != nil {
		return res, err
	}
	f, fi, err := x.ws.openRegular(rel, step.Path)
	if err != nil {
		return res, err
	}
	defer func() { _ = f.Close() }() // read only: nothing to lose
	windowed := step.StartLine > 0 || step.LineCount > 0
	if !windowed && fi.Size() > readCap {
		return res, fmt.Errorf("%s has %d bytes, over the %d-byte read cap: read a window of lines (startLine, lineCount) or grep it", step.Path, fi.Size(), readCap)
	}
	first := max(step.StartLine, 1)
	last := 0 // inclusive; 0 means to the end
	if step.LineCount > 0 {
		last = first + step.LineCount - 1
	}

	var out bytes.Buffer
	// Only what the file held when it was opened: a file a background
	// process keeps appending to does not hold the step forever.
	r := bufio.NewReaderSize(io.LimitReader(f, fi.Size()), 64<<10)
	n := 0
	for {
		line, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A line longer than the buffer: gather it whole.
			rest, err2 := r.ReadBytes('\n')
			line, err = append(append([]byte(nil), line...), rest...), err2
		}
		if len(line) > 0 {
			n++
			if n == 1 {
				line = bytes.TrimPrefix(line, bom)
			}
			if bytes.IndexByte(line, 0) >= 0 {
				return res, fmt.Errorf("%s is a binary file (it contains NUL bytes); it is not shown", step.Path)
			}
			if n >= first && (last == 0 || n <= last) && !res.Truncated {
				if !utf8.Valid(line) {
					return res, fmt.Errorf("%s is not UTF-8 text (line %d)", step.Path, n)
				}
				if out.Len()+len(line)+8 > readCap {
					res.Truncated = true
				} else {
					if step.WithLineNumbers {
						fmt.Fprintf(&out, "%6d\t", n)
					}
					out.Write(line)
				}
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return res, fmt.Errorf("read %s: %w", step.Path, err)
		}
	}
	if first > 1 && first > n {
		return res, fmt.Errorf("startLine %d is past the end of %s (%d lines)", first, step.Path, n)
	}
	res.OutputContent = out.String()
	res.OutputBytes = fi.Size()
	res.TotalLines = n
	return res, nil
}

func (x *executor) writeFile(step sandbox.Step) (sandbox.StepResult, error) {
	var res sandbox.StepResult
	if len(step.Content) > writeCap {
		return res, fmt.Errorf("content of %d bytes is over the %d-byte write cap", len(step.Content), writeCap)
	}
	rel, mode, existing, err := x.target(step.Path, true)
	if err != nil {
		return res, err
	}
	data := []byte(step.Content)
	if bytes.HasPrefix(existing, bom) && !bytes.HasPrefix(data, bom) {
		// readFile drops the mark; keep it for the tools that need it.
		data = append(append([]byte(nil), bom...), data...)
	}
	if err := x.atomicWrite(rel, data, mode); err != nil {
		return res, err
	}
	res.OutputBytes = int64(len(data))
	res.OutputContent = fmt.Sprintf("wrote %d bytes to %s", len(data), step.Path)
	return res, nil
}

func (x *executor) editFile(step sandbox.Step) (sandbox.StepResult, error) {
	var res sandbox.StepResult
	if step.OldString == step.NewString {
		return res, errors.New("oldString and newString are the same: nothing to change")
	}
	rel, mode, data, err := x.target(step.Path, false)
	if err != nil {
		return res, err
	}
	if bytes.IndexByte(data, 0) >= 0 {
		return res, fmt.Errorf("%s is a binary file; it cannot be edited as text", step.Path)
	}
	text, old, repl := string(data), step.OldString, step.NewString
	n := strings.Count(text, old)
	if n == 0 && strings.Contains(text, "\r\n") && strings.Contains(old, "\n") && !strings.Contains(old, "\r\n") {
		// The model writes "\n"; the file has CRLF line ends. Match and
		// write in the file's convention.
		old, repl = toCRLF(old), toCRLF(repl)
		n = strings.Count(text, old)
	}
	switch {
	case n == 0:
		return res, fmt.Errorf("oldString not found in %s: it must match the file exactly, whitespace included", step.Path)
	case n > 1 && !step.ReplaceAll:
		return res, fmt.Errorf("oldString occurs %d times in %s: add surrounding lines to make it unique, or set replaceAll", n, step.Path)
	case !step.ReplaceAll:
		text = strings.Replace(text, old, repl, 1)
	default:
		text = strings.ReplaceAll(text, old, repl)
	}
	if len(text) > writeCap {
		return res, fmt.Errorf("edited %s would have %d bytes, over the %d-byte write cap", step.Path, len(text), writeCap)
	}
	if err := x.atomicWrite(rel, []byte(text), mode); err != nil {
		return res, err
	}
	res.Replacements = n
	res.OutputBytes = int64(len(text))
	res.OutputContent = fmt.Sprintf("replaced %d occurrence(s) in %s", n, step.Path)
	return res, nil
}

func toCRLF(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

// target resolves a file to write: its path, the mode to keep and its
// current content. A missing file is fine when create is set; a symlink is
// refused rather than replaced by a regular file or written through.
func (x *executor) target(path string, create bool) (rel string, mode fs.FileMode, data []byte, err error) {
	rel, err = x.ws.rel(path)
	if err != nil {
		return "", 0, nil, err
	}
	if rel == "." {
		return "", 0, nil, fmt.Errorf("%q is the work root, not a file", path)
	}
	if dir := filepath.Dir(rel); dir != "." && create {
		if err := x.ws.root.MkdirAll(dir, 0o755); err != nil {
			return "", 0, nil, fmt.Errorf("create directory for %s: %w", path, unwrapPath(err))
		}
	}
	fi, err := x.ws.root.Lstat(rel)
	switch {
	case errors.Is(err, fs.ErrNotExist) && create:
		return rel, 0o644, nil, nil
	case err != nil:
		return "", 0, nil, fmt.Errorf("%s: %w", path, unwrapPath(err))
	case fi.Mode()&fs.ModeSymlink != 0:
		target, _ := x.ws.root.Readlink(rel)
		return "", 0, nil, fmt.Errorf("%s is a symlink to %s: write its target instead", path, target)
	case fi.IsDir():
		return "", 0, nil, fmt.Errorf("%s is a directory", path)
	case !fi.Mode().IsRegular():
		return "", 0, nil, fmt.Errorf("%s is %s, not a regular file", path, fileKind(fi.Mode()))
	case fi.Size() > writeCap:
		return "", 0, nil, fmt.Errorf("%s has %d bytes, over the %d-byte write cap", path, fi.Size(), writeCap)
	}
	f, fi, err := x.ws.openRegular(rel, path)
	if err != nil {
		return "", 0, nil, err
	}
	defer func() { _ = f.Close() }() // read only: nothing to lose
	data, err = io.ReadAll(io.LimitReader(f, writeCap+1))
	switch {
	case err != nil:
		return "", 0, nil, fmt.Errorf("read %s: %w", path, err)
	case len(data) > writeCap:
		return "", 0, nil, fmt.Errorf("%s has more than %d bytes, over the write cap", path, writeCap)
	}
	return rel, fi.Mode().Perm(), data, nil
}

// atomicWrite replaces rel by data through a temporary file in the same
// directory and a rename: a reader never sees half a file.
func (x *executor) atomicWrite(rel string, data []byte, mode fs.FileMode) error {
	var b [6]byte
	_, _ = rand.Read(b[:])
	tmp := filepath.Join(filepath.Dir(rel), "."+filepath.Base(rel)+".agent-smith-"+hex.EncodeToString(b[:]))
	f, err := x.ws.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("write %s: %w", rel, unwrapPath(err))
	}
	_, werr := f.Write(data)
	cerr := f.Chmod(mode) // the umask may have narrowed it
	if err := errors.Join(werr, cerr, f.Close()); err != nil {
		_ = x.ws.root.Remove(tmp)
		return fmt.Errorf("write %s: %w", rel, err)
	}
	if err := x.ws.root.Rename(tmp, rel); err != nil {
		_ = x.ws.root.Remove(tmp)
		return fmt.Errorf("write %s: %w", rel, unwrapPath(err))
	}
	return nil
}

// unwrapPath drops the operation and path of an *fs.PathError, which name
// the internal relative path; callers say which path they meant.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		if pe.Err.Error() == "path escapes from parent" {
			return errors.New("the path leads outside the work root (through a symlink or ..)")
		}
		return pe.Err
	}
	return err
}
