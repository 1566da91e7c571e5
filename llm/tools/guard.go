package tools

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
)

// The command guard is defence in depth, not the security boundary (the
// sandbox is): it refuses the few commands that would destroy the work,
// the machine or the repository's history, or publish from inside the
// sandbox, however they are spelled in one shell line. It splits the line
// into simple commands (across ; && || | & newlines, subshells and command
// substitutions), looks through wrappers (sudo, env, xargs, nohup, sh -c,
// eval…) and judges each command by its name and arguments.

// GuardError is a command the guard refused.
type GuardError struct {
	Command string
	Reason  string
}

func (e *GuardError) Error() string {
	return "refused by the command guard: " + e.Reason + "; change files inside the repository by name instead"
}

// CheckCommand returns a *GuardError when line runs a destructive command.
func CheckCommand(line string) error {
	return checkLine(line, 0)
}

// maxNesting bounds sh -c / eval recursion.
const maxNesting = 4

func checkLine(line string, depth int) error {
	if depth > maxNesting {
		return &GuardError{Command: line, Reason: "too deeply nested shell invocations"}
	}
	if forkBomb(line) {
		return &GuardError{Command: line, Reason: "a fork bomb"}
	}
	for _, inner := range substitutions(line) {
		if err := checkLine(inner, depth+1); err != nil {
			return err
		}
	}
	cmds, redirects := splitShell(line)
	for _, target := range redirects {
		if writesDevice(target) {
			return &GuardError{Command: line, Reason: "writes to the device " + target}
		}
	}
	for _, argv := range cmds {
		if err := checkArgv(argv, depth); err != nil {
			return err
		}
	}
	return nil
}

// wrappers run the rest of their arguments as a command, after their own
// flags; valueFlags are the wrapper flags that take the next argument.
var wrappers = map[string]bool{
	"sudo": true, "doas": true, "env": true, "command": true, "builtin": true, "exec": true, "nohup": true,
	"time": true, "nice": true, "ionice": true, "stdbuf": true, "setsid": true, "xargs": true, "timeout": true,
}

var valueFlags = map[string]bool{
	"-u": true, "-g": true, "-C": true, "-D": true, "-h": true, "-p": true, "-n": true, "-c": true, "-s": true,
	"-k": true, "-I": true, "-L": true, "-P": true, "-d": true, "-a": true, "-E": true, "-S": true,
}

var shells = map[string]bool{"sh": true, "bash": true, "dash": true, "zsh": true, "ksh": true, "ash": true}

func checkArgv(argv []string, depth int) error {
	argv = unwrap(argv)
	if len(argv) == 0 {
		return nil
	}
	name, args := path.Base(argv[0]), argv[1:]
	if name == "busybox" {
		return checkArgv(args, depth)
	}
	if shells[name] {
		for i, a := range args {
			if strings.HasPrefix(a, "-") && !strings.HasPrefix(a, "--") && strings.Contains(a, "c") && i+1 < len(args) {
				return checkLine(args[i+1], depth+1)
			}
		}
		return nil
	}
	refuse := func(reason string) error {
		return &GuardError{Command: strings.Join(argv, " "), Reason: reason}
	}
	ops := operands(args)
	switch name {
	case "eval":
		return checkLine(strings.Join(args, " "), depth+1)
	case "rm":
		if !recursive(args) {
			break
		}
		if t := firstOf(ops, outsideWork); t != "" {
			return refuse("recursive rm of " + t + ", outside the repository")
		}
		if t := firstOf(ops, wholeWork); t != "" {
			return refuse("recursive rm of " + t + ", the repository itself")
		}
	case "mv":
		if t := firstOf(ops, func(op string) bool { return outsideWork(op) || wholeWork(op) }); t != "" {
			return refuse("moving " + t)
		}
	case "chmod", "chown", "chgrp":
		if t := firstOf(ops, outsideWork); t != "" && recursive(args) {
			return refuse(fmt.Sprintf("recursive %s of %s", name, t))
		}
	case "find":
		if slices.Contains(args, "-delete") || slices.Contains(args, "-exec") || slices.Contains(args, "-execdir") {
			if t := firstOf(findRoots(args), outsideWork); t != "" {
				return refuse("find deleting or executing under " + t)
			}
		}
	case "dd":
		for _, a := range args {
			if of, ok := strings.CutPrefix(a, "of="); ok && writesDevice(of) {
				return refuse("dd onto the device " + of)
			}
		}
	case "mkfs", "mke2fs", "mkswap", "fdisk", "sfdisk", "cfdisk", "parted", "wipefs", "shred", "blkdiscard", "sgdisk":
		return refuse(name + " destroys disks or files beyond recovery")
	case "shutdown", "reboot", "halt", "poweroff", "killall5":
		return refuse(name + " stops the machine or every process")
	case "kill":
		// kill -9 -1 signals every process; PID 1 is the sandbox's agent.
		if slices.Contains(args, "-1") || slices.Contains(ops, "1") {
			return refuse("kill of every process or of PID 1")
		}
	case "git":
		switch sub := gitSubcommand(args); {
		case sub == "push":
			return refuse("git push: publishing is the pipeline's job, not the agent's")
		case sub == "remote" && (slices.Contains(args, "add") || slices.Contains(args, "set-url")):
			return refuse("changing git remotes")
		}
	}
	if strings.HasPrefix(name, "mkfs.") {
		return refuse(name + " destroys disks")
	}
	return nil
}

// unwrap drops environment assignments and wrapper commands (with their
// flags and, for timeout, the duration) in front of the real command.
func unwrap(argv []string) []string {
	for len(argv) > 0 {
		if isAssignment(argv[0]) {
			argv = argv[1:]
			continue
		}
		name := path.Base(argv[0])
		if !wrappers[name] {
			return argv
		}
		argv = argv[1:]
		for len(argv) > 0 && (strings.HasPrefix(argv[0], "-") || isAssignment(argv[0])) {
			if valueFlags[argv[0]] && len(argv) > 1 {
				argv = argv[1:]
			}
			argv = argv[1:]
		}
		if name == "timeout" && len(argv) > 0 {
			argv = argv[1:]
		}
	}
	return argv
}

var assignment = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)

func isAssignment(s string) bool { return assignment.MatchString(s) }

// recursive reports a -r/-R/--recursive flag, alone or combined (-rf).
func recursive(args []string) bool {
	for _, a := range args {
		if a == "--" {
			break
		}
		if a == "--recursive" || (strings.HasPrefix(a, "-") && !strings.HasPrefix(a, "--") && strings.ContainsAny(a, "rR")) {
			return true
		}
	}
	return false
}

// operands are the arguments that are not flags.
func operands(args []string) []string {
	var out []string
	flags := true
	for _, a := range args {
		if flags && a == "--" {
			flags = false
			continue
		}
		if flags && strings.HasPrefix(a, "-") && a != "-" {
			continue
		}
		out = append(out, a)
	}
	return out
}

func firstOf(ops []string, pred func(string) bool) string {
	for _, op := range ops {
		if pred(op) {
			return op
		}
	}
	return ""
}

// findRoots are find's starting points: the arguments before the first
// expression.
func findRoots(args []string) []string {
	var out []string
	for _, a := range args {
		if strings.HasPrefix(a, "-") || a == "(" || a == "!" {
			break
		}
		out = append(out, a)
	}
	return out
}

func gitSubcommand(args []string) string {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-C" || a == "-c" || a == "--git-dir" || a == "--work-tree":
			i++
		case strings.HasPrefix(a, "-"):
		default:
			return a
		}
	}
	return ""
}

// systemDirs are top-level directories whose removal breaks the machine,
// and the sandbox pod's work and agent volumes.
var systemDirs = map[string]bool{
	"/bin": true, "/boot": true, "/dev": true, "/etc": true, "/home": true, "/lib": true, "/lib32": true, "/lib64": true,
	"/opt": true, "/proc": true, "/root": true, "/sbin": true, "/srv": true, "/sys": true, "/usr": true, "/var": true,
	"/work": true, "/shared": true,
}

// outsideWork reports an operand naming the root, a system directory, the
// home directory or a parent of the working directory.
func outsideWork(op string) bool {
	if isRootish(op) {
		return true
	}
	t := strings.TrimRight(strings.TrimSuffix(op, "*"), "/")
	for _, home := range []string{"~", "$HOME", "${HOME}"} {
		if t == home {
			return true
		}
	}
	if strings.HasPrefix(op, "/") && systemDirs[path.Clean(t)] {
		return true
	}
	// .., ../.., ../*: parents of the working directory.
	return strings.HasPrefix(op, "..") && strings.Trim(path.Clean(t), "./") == ""
}

// wholeWork reports an operand naming the whole working tree or the
// repository's history: ., *, .*, .git.
func wholeWork(op string) bool {
	t := strings.TrimRight(strings.TrimSuffix(op, "*"), "/")
	return t == "" || t == "." || op == ".*" || path.Base(path.Clean(t)) == ".git"
}

// isRootish reports the root directory however it is written.
func isRootish(op string) bool {
	if !strings.HasPrefix(op, "/") {
		return false
	}
	return path.Clean(strings.TrimSuffix(op, "*")) == "/"
}

// writesDevice reports a path under /dev other than the harmless ones.
func writesDevice(p string) bool {
	if !strings.HasPrefix(p, "/dev/") {
		return false
	}
	switch {
	case p == "/dev/null", p == "/dev/zero", p == "/dev/stdout", p == "/dev/stderr", p == "/dev/tty",
		strings.HasPrefix(p, "/dev/fd/"), strings.HasPrefix(p, "/dev/pts/"), strings.HasPrefix(p, "/dev/shm/"):
		return false
	}
	return true
}

var funcDef = regexp.MustCompile(`([A-Za-z_:.][A-Za-z0-9_:.]*)\(\)\{`)

// forkBomb recognises a function that pipes itself into itself in the
// background, the shape of :(){ :|:& };: whatever the name.
func forkBomb(line string) bool {
	compact := strings.Join(strings.Fields(line), "")
	for _, m := range funcDef.FindAllStringSubmatch(compact, -1) {
		name := m[1]
		if strings.Contains(compact, name+"|"+name+"&") {
			return true
		}
	}
	return false
}

// splitShell splits a shell line into the argument lists of its simple
// commands and the targets of its output redirections. It understands
// quotes, backslashes, the control operators, (), {}, $() and backticks,
// which is enough to find every command a line runs; it does not expand
// anything.
func splitShell(line string) (cmds [][]string, redirects []string) {
	var (
		cur      []string
		word     strings.Builder
		inWord   bool
		redirect bool
	)
	endWord := func() {
		if !inWord {
			return
		}
		w := word.String()
		word.Reset()
		inWord = false
		if redirect {
			redirects = append(redirects, w)
			redirect = false
			return
		}
		cur = append(cur, w)
	}
	endCmd := func() {
		endWord()
		if len(cur) > 0 {
			cmds = append(cmds, cur)
		}
		cur = nil
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '\\' && i+1 < len(line):
			i++
			word.WriteByte(line[i])
			inWord = true
		case c == '\'':
			end := strings.IndexByte(line[i+1:], '\'')
			if end < 0 {
				end = len(line) - i - 1
			}
			word.WriteString(line[i+1 : i+1+end])
			i += end + 1
			inWord = true
		case c == '"':
			j := i + 1
			for ; j < len(line) && line[j] != '"'; j++ {
				if line[j] == '\\' && j+1 < len(line) {
					j++
				}
				word.WriteByte(line[j])
			}
			i = j
			inWord = true
		case c == '$' && i+1 < len(line) && line[i+1] == '(':
			// A command substitution is a command of its own.
			endCmd()
			i++
		case c == '`' || c == ';' || c == '&' || c == '|' || c == '\n' || c == '(' || c == ')':
			endCmd()
		case (c == '{' || c == '}') && !inWord:
			endCmd()
		case c == '>':
			// >, >>, >|, 2>, &>: the next word is where output goes.
			endWordKeepingFD(&word, &inWord)
			endWord()
			for i+1 < len(line) && (line[i+1] == '>' || line[i+1] == '|' || line[i+1] == '&') {
				i++
			}
			redirect = true
		case c == ' ' || c == '\t':
			endWord()
		default:
			word.WriteByte(c)
			inWord = true
		}
	}
	endCmd()
	return cmds, redirects
}

// endWordKeepingFD drops a file descriptor number written right before a
// redirection (the 2 of 2>), which is not an argument.
func endWordKeepingFD(word *strings.Builder, inWord *bool) {
	if !*inWord {
		return
	}
	w := word.String()
	if strings.Trim(w, "0123456789") == "" {
		word.Reset()
		*inWord = false
	}
}

// substitutions returns the bodies of the $( ) and backtick command
// substitutions of line, quoted or not: they run whatever the quoting.
func substitutions(line string) []string {
	var out []string
	for i := 0; i < len(line); i++ {
		switch {
		case line[i] == '$' && i+1 < len(line) && line[i+1] == '(':
			level, j := 1, i+2
			for ; j < len(line) && level > 0; j++ {
				switch line[j] {
				case '(':
					level++
				case ')':
					level--
				}
			}
			end := j
			if level == 0 {
				end = j - 1
			}
			out = append(out, line[i+2:end])
			i = j - 1
		case line[i] == '`':
			end := strings.IndexByte(line[i+1:], '`')
			if end < 0 {
				end = len(line) - i - 1
			}
			out = append(out, line[i+1:i+1+end])
			i += end + 1
		}
	}
	return out
}
