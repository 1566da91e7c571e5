package agent

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/agent-smith/agent-smith/sandbox"
)

// Limits of grep: default head limit, largest file searched, longest line
// text returned.
const (
	grepHeadDefault = 1000
	grepFileCap     = 1 << 20
	grepTextCap     = 2000
)

func (x *executor) grep(ctx context.Context, step sandbox.Step) (sandbox.StepResult, error) {
	var res sandbox.StepResult
	start, err := x.ws.rel(step.Path)
	if err != nil {
		return res, err
	}
	fi, err := x.ws.root.Stat(start)
	if err != nil {
		return res, fmt.Errorf("grep %s: %w", displayPath(step.Path), unwrapPath(err))
	}
	if !fi.IsDir() && !fi.Mode().IsRegular() {
		return res, fmt.Errorf("%s is %s, not a regular file", displayPath(step.Path), fileKind(fi.Mode()))
	}
	pattern := step.Pattern
	if step.CaseInsensitive {
		pattern = "(?i)" + pattern
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return res, fmt.Errorf("invalid pattern: %w", err)
	}
	acc := newGrepAcc(step)
	acc.res.Engine = x.grepEngine()
	if x.rg != "" {
		err = x.ripgrep(ctx, step, start, acc)
	} else {
		err = x.goGrep(ctx, step, start, fi.IsDir(), re, acc)
	}
	if err != nil {
		return res, err
	}
	return jsonResult(acc.res, acc.res.Truncated)
}

// grepEngine names the engine grep steps use: rg when the toolchain image
// has it, else a Go implementation with the same skips and order.
func (x *executor) grepEngine() string {
	if x.rg != "" {
		return "ripgrep"
	}
	return "go"
}

// grepAcc gathers lines in the shape of the output mode and enforces the
// head limit.
type grepAcc struct {
	res     sandbox.GrepResult
	head    int
	matches int
	context int
	last    string
}

func newGrepAcc(step sandbox.Step) *grepAcc {
	a := &grepAcc{head: step.HeadLimit, res: sandbox.GrepResult{Mode: step.OutputMode}}
	if a.head == 0 {
		a.head = grepHeadDefault
	}
	if a.res.Mode == "" {
		a.res.Mode = sandbox.GrepContent
	}
	if a.res.Mode == sandbox.GrepContent {
		a.context = step.ContextLines
	}
	return a
}

// add takes one line; false once the head limit is reached.
func (a *grepAcc) add(path string, line int, text string, isContext bool) bool {
	newFile := path != a.last
	a.last = path
	switch a.res.Mode {
	case sandbox.GrepFiles:
		if isContext || !newFile {
			return true
		}
		if len(a.res.Files) == a.head {
			a.res.Truncated = true
			return false
		}
		a.res.Files = append(a.res.Files, path)
	case sandbox.GrepCounts:
		if isContext {
			return true
		}
		if newFile {
			if len(a.res.Counts) == a.head {
				a.res.Truncated = true
				return false
			}
			a.res.Counts = append(a.res.Counts, sandbox.GrepCount{Path: path})
		}
		a.res.Counts[len(a.res.Counts)-1].Count++
	default:
		if !isContext {
			if a.matches == a.head {
				a.res.Truncated = true
				return false
			}
			a.matches++
		}
		a.res.Matches = append(a.res.Matches, sandbox.GrepMatch{Path: path, Line: line, Text: capText(text), Context: isContext})
	}
	return true
}

func capText(s string) string {
	s = strings.TrimRight(s, "\r\n")
	if len(s) <= grepTextCap {
		return s
	}
	cut := grepTextCap
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// ripgrep runs rg --json with the same skips as the Go engine: hidden
// files searched, ignore files not consulted, skip directories, size cap;
// sorted by path so results do not depend on thread timing.
func (x *executor) ripgrep(ctx context.Context, step sandbox.Step, start string, acc *grepAcc) error {
	args := []string{"--json", "--no-config", "--hidden", "--no-ignore", "--sort", "path",
		"--max-filesize", strconv.Itoa(grepFileCap), "--regexp", step.Pattern}
	if step.CaseInsensitive {
		args = append(args, "--ignore-case")
	}
	switch acc.res.Mode {
	case sandbox.GrepContent:
		if acc.context > 0 {
			args = append(args, "--context", strconv.Itoa(acc.context))
		}
	case sandbox.GrepFiles:
		args = append(args, "--max-count", "1")
	}
	for name := range skipDirs {
		args = append(args, "--glob", "!"+name+"/")
	}
	if step.Glob != "" {
		args = append(args, "--glob", step.Glob)
	}
	for _, g := range step.ExcludeGlobs {
		args = append(args, "--glob", "!"+g)
	}
	target := "./"
	if start != "." {
		target += filepath.ToSlash(start)
	}
	args = append(args, "--", target)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := exec.CommandContext(ctx, x.rg, args...)
	cmd.Dir = x.ws.dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("grep: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("grep: start rg: %w", err)
	}
	stopped := false
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), 8*grepFileCap)
	for sc.Scan() && !stopped {
		var msg rgMessage
		if json.Unmarshal(sc.Bytes(), &msg) != nil || (msg.Type != "match" && msg.Type != "context") {
			continue
		}
		if msg.Data.Path.Text == "" || msg.Data.Lines.Text == nil {
			continue // a non-UTF-8 path or line
		}
		p := strings.TrimPrefix(msg.Data.Path.Text, "./")
		if !acc.add(p, msg.Data.LineNumber, *msg.Data.Lines.Text, msg.Type == "context") {
			stopped = true
			cancel()
		}
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	switch {
	case stopped || err == nil:
		return nil
	case ctx.Err() != nil:
		return fmt.Errorf("grep: %w", ctx.Err())
	case errors.As(err, &exit) && exit.ExitCode() == 1:
		return nil // no match
	default:
		return fmt.Errorf("grep: rg: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
}

type rgMessage struct {
	Type string `json:"type"`
	Data struct {
		Path struct {
			Text string `json:"text"`
		} `json:"path"`
		Lines struct {
			Text *string `json:"text"`
		} `json:"lines"`
		LineNumber int `json:"line_number"`
	} `json:"data"`
}

// goGrep is the engine for toolchain images without rg: a regexp walk with
// the same skips and the same order (by path, directory by directory).
func (x *executor) goGrep(ctx context.Context, step sandbox.Step, start string, isDir bool, re *regexp.Regexp, acc *grepAcc) error {
	search := func(rel string) (bool, error) {
		data, err := x.readForGrep(rel)
		if err != nil || bytes.IndexByte(data, 0) >= 0 {
			return true, nil // unreadable, special, too big or binary: skipped like rg does
		}
		return grepLines(filepath.ToSlash(rel), data, re, acc), nil
	}
	if !isDir {
		_, err := search(start)
		return err
	}
	err := x.walk(ctx, start, math.MaxInt, func(rel string, d fs.DirEntry, _ int) (bool, error) {
		if d.IsDir() {
			return !skipDirs[d.Name()] && !excluded(step.ExcludeGlobs, rel), nil
		}
		if !d.Type().IsRegular() || excluded(step.ExcludeGlobs, rel) || (step.Glob != "" && !globMatch(step.Glob, rel)) {
			return false, nil
		}
		if fi, err := d.Info(); err != nil || fi.Size() > grepFileCap {
			return false, nil
		}
		more, err := search(rel)
		if err != nil || !more {
			return false, fs.SkipAll
		}
		return false, nil
	})
	if err != nil && !errors.Is(err, fs.SkipAll) {
		return fmt.Errorf("grep %s: %w", displayPath(step.Path), unwrapPath(err))
	}
	return nil
}

// readForGrep reads a regular file of at most grepFileCap bytes.
func (x *executor) readForGrep(rel string) ([]byte, error) {
	f, _, err := x.ws.openRegular(rel, rel)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }() // read only: nothing to lose
	data, err := io.ReadAll(io.LimitReader(f, grepFileCap+1))
	if err == nil && len(data) > grepFileCap {
		err = fmt.Errorf("%s is over the grep size cap", rel)
	}
	return data, err
}

// grepLines feeds the matching lines of one file, with their context
// lines, to acc; false once acc wants no more.
func grepLines(path string, data []byte, re *regexp.Regexp, acc *grepAcc) bool {
	lines := strings.SplitAfter(string(data), "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	next := 0 // first line not yet emitted
	for i, l := range lines {
		if !re.MatchString(strings.TrimRight(l, "\r\n")) {
			continue
		}
		for j := max(next, i-acc.context); j < i; j++ {
			if !acc.add(path, j+1, lines[j], true) {
				return false
			}
		}
		if !acc.add(path, i+1, l, false) {
			return false
		}
		if acc.res.Mode == sandbox.GrepFiles {
			return true
		}
		next = i + 1
		for j := i + 1; j <= min(i+acc.context, len(lines)-1) && !re.MatchString(strings.TrimRight(lines[j], "\r\n")); j++ {
			if !acc.add(path, j+1, lines[j], true) {
				return false
			}
			next = j + 1
		}
	}
	return true
}
