package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/agent-smith/agent-smith/llm"
	"github.com/agent-smith/agent-smith/sandbox"
)

// defaultReadLines is read_file's window when the model names none: a
// whole file of that size is already a large share of a context window.
const defaultReadLines = 2000

type readFile struct{ t *Toolset }

func (r readFile) Def() llm.ToolDef {
	return llm.ToolDef{
		Name: "read_file",
		Description: fmt.Sprintf("Read a text file with line numbers. Reads %d lines unless line_count says otherwise; "+
			"use start_line to read further.", defaultReadLines),
		Parameters: schema([]string{"path"},
			str("path", r.t.pathHelp("The file")),
			integer("start_line", "First line to read, 1-based (default 1)."),
			integer("line_count", fmt.Sprintf("Number of lines to read (default %d).", defaultReadLines))),
	}
}

func (r readFile) Call(ctx context.Context, args json.RawMessage) (string, error) {
	var a struct {
		Path      string `json:"path"`
		StartLine int    `json:"start_line"`
		LineCount int    `json:"line_count"`
	}
	if err := llm.DecodeArgs(args, &a); err != nil {
		return "", err
	}
	if a.Path == "" {
		return "", errors.New("path is required")
	}
	tg, err := r.t.resolve(a.Path)
	if err != nil {
		return "", err
	}
	first := max(a.StartLine, 1)
	count := a.LineCount
	if count <= 0 {
		count = defaultReadLines
	}
	text, err := sandbox.ReadFile(ctx, tg.sb, sandbox.ReadFileRequest{Path: tg.rel, StartLine: first, LineCount: count, WithLineNumbers: true})
	if err != nil {
		return "", sandboxErr(err)
	}
	last := min(first+count-1, text.TotalLines)
	switch {
	case text.TotalLines == 0:
		return fmt.Sprintf("(%s is empty)", a.Path), nil
	case text.Truncated:
		return text.Content + fmt.Sprintf("\n[the window was cut at the read size cap; %s has %d lines: read on with a later start_line]", a.Path, text.TotalLines), nil
	case first > 1 || last < text.TotalLines:
		return text.Content + fmt.Sprintf("\n[lines %d-%d of %d]", first, last, text.TotalLines), nil
	}
	return text.Content, nil
}

type writeFile struct{ t *Toolset }

func (w writeFile) Def() llm.ToolDef {
	return llm.ToolDef{
		Name:        "write_file",
		Description: "Create or replace a file with the given content. Directories are created as needed. Prefer edit_file for changes to existing files.",
		Parameters: schema([]string{"path", "content"},
			str("path", w.t.pathHelp("The file")),
			str("content", "The complete new content of the file.")),
	}
}

func (w writeFile) Call(ctx context.Context, args json.RawMessage) (string, error) {
	var a struct {
		Path    string  `json:"path"`
		Content *string `json:"content"`
	}
	if err := llm.DecodeArgs(args, &a); err != nil {
		return "", err
	}
	if a.Path == "" || a.Content == nil {
		return "", errors.New("path and content are required")
	}
	tg, err := w.t.resolve(a.Path)
	if err != nil {
		return "", err
	}
	if err := sandbox.WriteFile(ctx, tg.sb, tg.rel, *a.Content); err != nil {
		return "", sandboxErr(err)
	}
	return fmt.Sprintf("wrote %s (%d bytes)", a.Path, len(*a.Content)), nil
}

type editFile struct{ t *Toolset }

func (e editFile) Def() llm.ToolDef {
	return llm.ToolDef{
		Name: "edit_file",
		Description: "Replace old_string by new_string in a file. old_string must match exactly (whitespace included) and, " +
			"unless replace_all is set, exactly once: include enough surrounding lines to make it unique.",
		Parameters: schema([]string{"path", "old_string", "new_string"},
			str("path", e.t.pathHelp("The file")),
			str("old_string", "The exact text to replace."),
			str("new_string", "The text to put in its place."),
			boolean("replace_all", "Replace every occurrence instead of exactly one.")),
	}
}

func (e editFile) Call(ctx context.Context, args json.RawMessage) (string, error) {
	var a struct {
		Path       string  `json:"path"`
		OldString  string  `json:"old_string"`
		NewString  *string `json:"new_string"`
		ReplaceAll bool    `json:"replace_all"`
	}
	if err := llm.DecodeArgs(args, &a); err != nil {
		return "", err
	}
	if a.Path == "" || a.OldString == "" || a.NewString == nil {
		return "", errors.New("path, old_string and new_string are required")
	}
	if a.OldString == *a.NewString {
		return "", errors.New("old_string and new_string are the same: nothing would change")
	}
	tg, err := e.t.resolve(a.Path)
	if err != nil {
		return "", err
	}
	n, err := sandbox.EditFile(ctx, tg.sb, sandbox.EditRequest{Path: tg.rel, OldString: a.OldString, NewString: *a.NewString, ReplaceAll: a.ReplaceAll})
	if err != nil {
		return "", sandboxErr(err)
	}
	return fmt.Sprintf("replaced %d occurrence(s) in %s", n, a.Path), nil
}
