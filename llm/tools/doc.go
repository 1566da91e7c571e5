// Package tools maps the model's tools onto sandbox steps: read_file,
// write_file, edit_file, list_directory, directory_tree, find_files, grep
// and run_command, over one sandbox per repository of a run.
//
// On a run with several repositories every path starts with the
// repository's name ("api/src/main.go") and run_command names its repo;
// with one repository paths are relative to its root. Failures the model
// can act on (a missing file, an ambiguous edit, a refused command) come
// back as tool errors for the model to read; a sandbox that stops
// answering halts the loop (llm.Halt).
//
// It reaches sandboxes through the interfaces of package sandbox only: it
// must not import a sandbox backend, runs or trackers.
package tools
