// Package skills is the versioned catalog of prompts the pipeline gives its
// models: the shared system prompt and one task prompt per role (planner,
// implementer, reviewer, tester, documenter, bootstrap), plus notes per
// repository language. The catalog the binary ships is embedded
// (skills.source: default) at the versions under catalog/; a local
// directory (source: path) or a tar.gz fetched over HTTP and verified
// against its sha256 (source: url) replace it with the same layout:
//
//	system.md planner.md implementer.md reviewer.md tester.md documenter.md bootstrap.md
//	lang/{go,node,python,dotnet,java,rust,…}.md
//
// Every prompt is a text/template fed an Input: the ticket, the plan, the
// repositories with their languages and test commands, the coding
// principles and the repository context.
//
// Of agent-smith it imports config alone.
package skills
