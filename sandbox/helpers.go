package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
)

// The typed helpers below build a step of one file kind, run it on any
// Sandbox and decode its payload. A refusal by the agent (missing file,
// path outside the work root, no unique match…) comes back as a
// *StepError; any other error means the sandbox did not answer.

// ReadFileRequest reads a whole file or a window of its lines.
type ReadFileRequest struct {
	Path            string
	StartLine       int // 1-based; 0 means 1
	LineCount       int // 0 means to the end
	WithLineNumbers bool
}

// FileText is the text read from a file.
type FileText struct {
	Content    string
	TotalLines int
	// Truncated says the window was cut at the read cap.
	Truncated bool
}

// ReadFile returns the text of a UTF-8 file (a byte-order mark is
// dropped). Binary files and files over the read cap without a window are
// refused.
func ReadFile(ctx context.Context, sb Sandbox, req ReadFileRequest) (FileText, error) {
	res, err := do(ctx, sb, Step{Kind: KindReadFile, Path: req.Path, StartLine: req.StartLine, LineCount: req.LineCount, WithLineNumbers: req.WithLineNumbers})
	if err != nil {
		return FileText{}, err
	}
	return FileText{Content: res.OutputContent, TotalLines: res.TotalLines, Truncated: res.Truncated}, nil
}

// WriteFile replaces path with content atomically, creating directories.
func WriteFile(ctx context.Context, sb Sandbox, path, content string) error {
	_, err := do(ctx, sb, Step{Kind: KindWriteFile, Path: path, Content: content})
	return err
}

// EditRequest replaces OldString in a file by NewString: its one
// occurrence, or all of them with ReplaceAll.
type EditRequest struct {
	Path       string
	OldString  string
	NewString  string
	ReplaceAll bool
}

// EditFile applies req and returns the number of replacements.
func EditFile(ctx context.Context, sb Sandbox, req EditRequest) (int, error) {
	res, err := do(ctx, sb, Step{Kind: KindEditFile, Path: req.Path, OldString: req.OldString, NewString: req.NewString, ReplaceAll: req.ReplaceAll})
	if err != nil {
		return 0, err
	}
	return res.Replacements, nil
}

// ListRequest lists a directory (default the work root) to MaxDepth
// levels (default 1).
type ListRequest struct {
	Path      string
	MaxDepth  int
	WithSizes bool
}

// ListFiles returns the entries under req.Path.
func ListFiles(ctx context.Context, sb Sandbox, req ListRequest) (Listing, error) {
	var l Listing
	err := decoded(ctx, sb, Step{Kind: KindListFiles, Path: req.Path, MaxDepth: req.MaxDepth, WithSizes: req.WithSizes}, &l)
	return l, err
}

// GrepRequest searches the files under Path (default the work root) for a
// regular expression.
type GrepRequest struct {
	Pattern         string
	Path            string
	Glob            string // only files matching, e.g. "*.go" or "src/**/*.ts"
	Mode            GrepMode
	HeadLimit       int // default 1000 entries
	ContextLines    int
	CaseInsensitive bool
	ExcludeGlobs    []string
}

// Grep runs req.
func Grep(ctx context.Context, sb Sandbox, req GrepRequest) (GrepResult, error) {
	var g GrepResult
	err := decoded(ctx, sb, Step{Kind: KindGrep, Pattern: req.Pattern, Path: req.Path, Glob: req.Glob, OutputMode: req.Mode,
		HeadLimit: req.HeadLimit, ContextLines: req.ContextLines, CaseInsensitive: req.CaseInsensitive, ExcludeGlobs: req.ExcludeGlobs}, &g)
	return g, err
}

// TreeRequest draws the directory tree under Path (default the work root)
// to MaxDepth levels (default 4).
type TreeRequest struct {
	Path         string
	MaxDepth     int
	ExcludeGlobs []string
}

// Tree returns the tree as indented text, directories ending in "/".
func Tree(ctx context.Context, sb Sandbox, req TreeRequest) (string, error) {
	res, err := do(ctx, sb, Step{Kind: KindDirectoryTree, Path: req.Path, MaxDepth: req.MaxDepth, ExcludeGlobs: req.ExcludeGlobs})
	if err != nil {
		return "", err
	}
	return res.OutputContent, nil
}

func do(ctx context.Context, sb Sandbox, step Step) (StepResult, error) {
	res, err := sb.Run(ctx, step, nil)
	if err != nil {
		return StepResult{}, err
	}
	return res, res.Err()
}

func decoded(ctx context.Context, sb Sandbox, step Step, into any) error {
	res, err := do(ctx, sb, step)
	if err != nil {
		return err
	}
	if err := json.Unmarshal([]byte(res.OutputContent), into); err != nil {
		return fmt.Errorf("decode %s result of job %s: %w", step.Kind, sb.JobID(), err)
	}
	return nil
}
