// Command image builds agent-smith's container image without a Docker
// daemon and pushes it: a multi-platform OCI image index made from the
// static binaries `make binaries` leaves in bin/<os>_<arch>/, written as an
// OCI image layout (`make image`), and that layout sent to a registry
// (`make image-push`).
//
// It is a Go module of its own so that go-containerregistry, and the Docker
// credential code its default keychain brings, stay out of the product's
// module graph: nothing the orchestrator links depends on them.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

const usage = `image builds and pushes agent-smith's multi-platform OCI image without a Docker daemon.

Usage:
  image build --ref REF --out DIR [flags]   write the image for every platform as an OCI layout in DIR
  image push --layout DIR --ref REF         push the layout's image to REF (credentials: ~/.docker/config.json)

Run "image COMMAND -h" for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
	default:
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command")
	}
	switch args[0] {
	case "build":
		return runBuild(args[1:], stdout, stderr)
	case "push":
		return runPush(ctx, args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		return fmt.Errorf("unknown command %q (build, push)", args[0])
	}
}

func runBuild(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("image build", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var spec Spec
	fs.StringVar(&spec.BinDir, "bin-dir", "bin", "directory with a subdirectory per platform (linux_amd64, …); each file in it becomes /NAME in the image")
	platforms := fs.String("platforms", "linux/amd64,linux/arm64", "platforms of the image index, comma-separated")
	fs.StringVar(&spec.Entrypoint, "entrypoint", "/agent-smith", "the image's entrypoint, one of the binaries")
	cmd := fs.String("cmd", "serve", "the entrypoint's default arguments, space-separated")
	fs.StringVar(&spec.Ref, "ref", "", "the reference the image is published as (REPO:TAG); the layout names it")
	fs.StringVar(&spec.Version, "version", "", "org.opencontainers.image.version (the binaries' version)")
	fs.StringVar(&spec.Revision, "revision", "", "org.opencontainers.image.revision (the git commit)")
	fs.StringVar(&spec.Source, "source", "https://github.com/agent-smith/agent-smith", "org.opencontainers.image.source")
	created := fs.String("created", os.Getenv("SOURCE_DATE_EPOCH"), "creation time, seconds since 1970 (default $SOURCE_DATE_EPOCH; the same inputs give the same digest)")
	out := fs.String("out", "", "directory of the OCI image layout to write (replaced)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var errs []error
	for _, p := range strings.Split(*platforms, ",") {
		pl, err := v1.ParsePlatform(strings.TrimSpace(p))
		if err != nil {
			errs = append(errs, fmt.Errorf("--platforms: %w", err))
			continue
		}
		spec.Platforms = append(spec.Platforms, *pl)
	}
	spec.Cmd = strings.Fields(*cmd)
	secs, err := strconv.ParseInt(*created, 10, 64)
	if err != nil {
		errs = append(errs, fmt.Errorf("--created %q: want seconds since 1970", *created))
	}
	spec.Created = time.Unix(secs, 0).UTC()
	if *out == "" {
		errs = append(errs, errors.New("--out: no layout directory"))
	}
	if err := errors.Join(append(errs, spec.Check())...); err != nil {
		return err
	}
	idx, err := Build(spec)
	if err != nil {
		return err
	}
	if err := WriteLayout(*out, idx, spec.Ref); err != nil {
		return err
	}
	return Describe(stdout, *out, idx)
}

func runPush(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("image push", flag.ContinueOnError)
	fs.SetOutput(stderr)
	layoutDir := fs.String("layout", "bin/image", "the OCI image layout `image build` wrote")
	ref := fs.String("ref", "", "where to push it (REPO:TAG)")
	digestFile := fs.String("digest-file", "", "write REPO@DIGEST of the pushed index to this file (for signing and attestations)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *ref == "" {
		return errors.New("--ref: no image reference")
	}
	pushed, err := Push(ctx, *layoutDir, *ref)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, pushed)
	if *digestFile != "" {
		return os.WriteFile(*digestFile, []byte(pushed+"\n"), 0o644)
	}
	return nil
}
