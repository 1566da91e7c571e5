package jira

import (
	"os"
	"testing"

	"github.com/agent-smith/agent-smith/trackers/jira/jirafake"
)

// BenchmarkWebhook measures the request-path work of a delivery: verifying
// and parsing Jira Cloud payloads as they arrive (a full issue with its
// custom fields, some 6-7 KB).
func BenchmarkWebhook(b *testing.B) {
	tr := &Tracker{name: "shop", site: "https://acme.atlassian.net", project: testProject, secret: []byte(testSecret),
		triggerLabels: []string{"agent-smith"}, openStates: []string{"To Do"}, agentUsers: []string{"Agent Smith"}}
	for _, file := range []string{"issue_updated_labels.json", "issue_commented.json"} {
		body, err := os.ReadFile("testdata/" + file)
		if err != nil {
			b.Fatal(err)
		}
		h := jirafake.Event("", body).Header(testSecret)
		b.Run("verify/"+file, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if err := tr.VerifyWebhook(h, body); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("parse/"+file, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				ev, err := tr.ParseWebhook(h, body)
				if err != nil || ev.Ticket.ID == "" {
					b.Fatal(ev, err)
				}
			}
		})
	}
}
