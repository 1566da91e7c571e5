package gitlab

import (
	"os"
	"testing"

	"github.com/agent-smith/agent-smith/trackers"
	"github.com/agent-smith/agent-smith/trackers/gitlab/gitlabfake"
)

// BenchmarkWebhookRequestPath measures what the webhook endpoint spends in
// this package per delivery (verify, then parse) on the documentation's
// example payloads.
func BenchmarkWebhookRequestPath(b *testing.B) {
	tr := &Tracker{name: "shop", api: &api{project: shopProject}, triggerLabels: []string{"agent-smith"}, openStates: []string{stateOpen},
		judge: func(int64) (verdict, trackers.Identity) { return trusted, trackers.Identity{ID: "1", Dedicated: true} }}
	tr.secretSum = digest(testSecret)
	for _, c := range []struct{ event, file string }{{"Issue Hook", "issue_hook.json"}, {"Note Hook", "note_hook_issue.json"}} {
		body, err := os.ReadFile("testdata/" + c.file)
		if err != nil {
			b.Fatal(err)
		}
		h := gitlabfake.Event(c.event, body).Header(testSecret)
		b.Run(c.event, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if err := tr.VerifyWebhook(h, body); err != nil {
					b.Fatal(err)
				}
				ev, err := tr.ParseWebhook(h, body)
				if err != nil || ev.Ignore != "" {
					b.Fatal(err, ev.Ignore)
				}
			}
		})
	}
}
