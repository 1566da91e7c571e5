package main

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Push sends the image index of the layout in dir to ref, with the
// credentials of the default keychain (~/.docker/config.json and its
// credential helpers, as `docker login` leaves them), and returns
// REPO@DIGEST of what it pushed: what cosign signs and attestations name.
func Push(ctx context.Context, dir, ref string) (string, error) {
	idx, _, err := ReadLayout(dir)
	if err != nil {
		return "", err
	}
	tag, err := name.NewTag(ref)
	if err != nil {
		return "", fmt.Errorf("--ref %q: %w", ref, err)
	}
	if err := remote.WriteIndex(tag, idx, remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)); err != nil {
		return "", fmt.Errorf("push %s: %w", tag, err)
	}
	digest, err := idx.Digest()
	if err != nil {
		return "", err
	}
	return tag.Context().Digest(digest.String()).String(), nil
}
