package main

// version is the release of this binary, set at build time with
// -ldflags "-X main.version=…" (see the Makefile); "dev" otherwise.
var version = "dev"
