package azuredevops

import (
	"testing"

	"github.com/agent-smith/agent-smith/trackers/azuredevops/adofake"
)

// BenchmarkWebhook measures the request-path work of one delivery: the
// basic-auth check and the parse of a documented-shape workitem.updated
// (about 6 KB) or workitem.commented, down to the normalized Event.
//
//	go test -run '^$' -bench Webhook -benchtime 2000x ./trackers/azuredevops
func BenchmarkWebhook(b *testing.B) {
	tr := documentedTracker(b)
	for _, name := range []string{"workitem.updated.json", "workitem.commented.json"} {
		body := payload(b, name)
		d := adofake.Delivery{}.Header(testSecret)
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if err := tr.VerifyWebhook(d, body); err != nil {
					b.Fatal(err)
				}
				ev, err := tr.ParseWebhook(d, body)
				if err != nil || ev.Ticket.ID == "" {
					b.Fatalf("%v %+v", err, ev)
				}
			}
		})
	}
}
