// Package scripted replays model answers from a file instead of calling a
// model (agents of `type: scripted`), and records the answers of any
// provider to a file it can replay. It serves the demo, users who want to
// dry-run their wiring without spending tokens, and tests.
//
// A script is a YAML list of turns; each model call takes the next turn:
//
//	# Fix the sign in Add, run the tests, finish.
//	- slot: planning                # optional: only the planning model takes this turn
//	  text: '{"steps": ["fix Add"]}'
//	- text: Let me look at the code.
//	  tool_calls:
//	    - name: read_file
//	      arguments: {path: calc/add.go}
//	- tool_calls:
//	    - name: edit_file
//	      arguments: {path: calc/add.go, old_string: "a - b", new_string: "a + b"}
//	- tool_calls:
//	    - name: run_command
//	      arguments: {command: go test ./...}
//	- tool_calls:
//	    - name: finish
//	      arguments: {summary: Add subtracted; it adds now and the tests pass.}
//	  usage: {input_tokens: 5200, output_tokens: 40}   # optional
//
// Fields of a turn: text, tool_calls (name and arguments, an object or a
// JSON string), usage (input_tokens, output_tokens, cached_input_tokens,
// cache_write_input_tokens; estimated from the request when absent),
// stop_reason (end_turn, tool_use, max_tokens, refusal, context_window,
// bad_tool_call, paused, other; derived when absent), stop_detail (the
// provider's word on the stop) and slot (planning,
// execution, review, summarization). A turn without a slot is taken by
// whichever model asks next; a turn with one only by that slot's model, so
// one script can drive every phase of a run. A call after the last turn
// fails with ErrExhausted.
//
// A recording is written in the same format, one turn per call, each run
// introduced by a comment line, and replays as it is.
//
// Of agent-smith it imports llm alone.
package scripted
