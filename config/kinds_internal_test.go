package config

import (
	"strings"
	"testing"
)

// clashing declares a key every tracker block already has.
type clashing struct {
	URL string `json:"url"`
}

func (*clashing) Default(Block, *Tracker)  {}
func (*clashing) Validate(Block, *Tracker) {}

// notAStruct is settings that cannot hold keys.
type notAStruct string

func (*notAStruct) Default(Block, *Tracker)  {}
func (*notAStruct) Validate(Block, *Tracker) {}

// A kind whose settings could never be decoded is a bug in its package;
// the first Parse says so instead of silently dropping its keys.
func TestMalformedKindsAreRefusedAtTheFirstParse(t *testing.T) {
	for _, tc := range []struct {
		name     string
		settings func() TrackerSettings
		want     string
	}{
		{"a key of the common block", func() TrackerSettings { return &clashing{} }, "declares the common key url of Tracker"},
		{"settings that are no struct", func() TrackerSettings { return new(notAStruct) }, "must be a non-nil pointer to a struct"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(r.(string), tc.want) {
					t.Errorf("recovered %v, want a panic containing %q", r, tc.want)
				}
			}()
			_, _ = Parse(nil, "agentsmith.yml", nil, Kinds{Trackers: map[string]TrackerKind{"bad": {Settings: tc.settings}}})
		})
	}
}
