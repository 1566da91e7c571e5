package connect_test

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/llm/providers"
	"github.com/agent-smith/agent-smith/trackers"
	"github.com/agent-smith/agent-smith/trackers/connect"
	"github.com/agent-smith/agent-smith/trackers/trackertest"
)

// withMemo is the table with the memo tracker added: the one line a new
// tracker type needs besides its own package (memo_test.go) and its README
// row. Nothing in config, connect or another tracker knows memo.
func withMemo(svc *memoService) connect.Table {
	table := connect.Builtin()
	table[memoType] = connect.Entry{Kind: memoKind(), New: newMemo(svc)}
	return table
}

const memoToken = "memo-api-token"

// memoConfig is an agentsmith.yml with a memo tracker whose block holds
// trackerKeys, and a project on it with the generic trigger block.
func memoConfig(trackerKeys string) string {
	return `agents:
  replay: {type: scripted, script: fix-bug.json}
repos:
  api: {type: git, url: /srv/git/api.git}
trackers:
  ops:
    type: memo
    project: ops-board
    auth: memo_token
` + trackerKeys + `projects:
  api:
    agent: replay
    tracker: ops
    repos: [api]
    trigger:
      project_resolution: {strategy: tag, value: api}
      pipeline_from_label: {feature: add-feature}
skills: {version: v3.0.1}
secrets:
  memo_token: ${MEMO_TOKEN}
`
}

func parseMemo(table connect.Table, doc string) (*config.Config, error) {
	env := func(k string) (string, bool) { return memoToken, k == "MEMO_TOKEN" }
	return config.Parse([]byte(doc), "agentsmith.yml", env, config.Kinds{Trackers: table.Kinds(), Providers: providers.Kinds()})
}

func TestATrackerTypeAddedByOneTableLineIsReadCheckedAndBuilt(t *testing.T) {
	g := NewWithT(t)
	svc := &memoService{token: memoToken}
	cfg, err := parseMemo(withMemo(svc), memoConfig("    team: core\n    webhook_secret: hook\n"))
	g.Expect(err).NotTo(HaveOccurred())

	tc := cfg.Trackers["ops"]
	g.Expect(tc.Settings).To(Equal(&memoSettings{Team: "core", PageSize: 50}), "its own keys, with its defaults")
	g.Expect(tc.URL).To(Equal(memoDefaultURL))
	g.Expect(tc.OpenStates).To(Equal([]string{"open"}))
	g.Expect(tc.TriggerLabels).To(Equal([]string{"agent-smith"}), "common defaults apply to every type")
	g.Expect(cfg.Projects["api"].Trigger().PipelineFromLabel).To(Equal(map[string]string{"feature": "add-feature"}))
	g.Expect(cfg.WebhookRoutes()).To(HaveKeyWithValue("/webhooks/memo", "ops"))

	printed, err := json.Marshal(cfg.Redacted())
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(printed)).To(ContainSubstring(`"team":"core","page_size":50`), "config print shows the type's keys in the block")
	g.Expect(string(printed)).NotTo(ContainSubstring(`"hook"`))

	tr, err := withMemo(svc).Tracker(cfg, "ops")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(tr.Type()).To(Equal(memoType))

	_, err = parseMemo(connect.Builtin(), memoConfig("    team: core\n"))
	g.Expect(err).To(MatchError(ContainSubstring(`trackers.ops.type: unknown value "memo"`)), "without the table line the type does not exist")
}

func TestATableTrackersKeysAreCheckedWithPathAndLine(t *testing.T) {
	table := withMemo(&memoService{token: memoToken})
	cases := []struct {
		name, keys, path, msg string
		at                    string // the text of the line the problem is on
	}{
		{"its required key", "", "trackers.ops.team", "is required", "  ops:"},
		{"a typo in its key", "    team: core\n    page_sise: 10\n", "trackers.ops.page_sise", `unknown key (did you mean "page_size"?)`, "page_sise"},
		{"its own range", "    team: core\n    page_size: 0\n", "trackers.ops.page_size", "must be at least 1, got 0", "page_size"},
		{"another type's key", "    team: core\n    email: bot@acme.example\n", "trackers.ops.email", "only applies to jira trackers", "email"},
		{"a common key still checked", "    team: core\n    webhook_secret: ''\n", "trackers.ops.webhook_secret", "is empty", "webhook_secret"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			doc := memoConfig(tc.keys)
			_, err := parseMemo(table, doc)
			var errs config.Errors
			g.Expect(errors.As(err, &errs)).To(BeTrue(), "err = %v", err)
			g.Expect(errs).To(HaveLen(1), "one problem, no follow-ups: %v", err)
			g.Expect(errs[0].Path).To(Equal(tc.path))
			g.Expect(errs[0].Message).To(ContainSubstring(tc.msg))
			g.Expect(errs[0].Line).To(Equal(lineOf(doc, tc.at)))
		})
	}
}

// lineOf is the 1-based line of doc that contains text.
func lineOf(doc, text string) int {
	for i, line := range strings.Split(doc, "\n") {
		if strings.Contains(line, text) {
			return i + 1
		}
	}
	return 0
}

func TestATableTrackerPassesTheTrackerContract(t *testing.T) {
	trackertest.Run(t, func(t *testing.T) trackertest.Harness {
		return &memoHarness{svc: &memoService{token: memoToken, race: map[string]string{}, raced: map[string]bool{}}}
	})
}

// memoHarness plays the contract kit's Harness against the memo service,
// building the tracker from an agentsmith.yml through the table.
type memoHarness struct {
	svc        *memoService
	deliveries atomic.Int64
}

func (h *memoHarness) Tracker(t *testing.T, s trackertest.Setup) trackers.Tracker {
	keys := "    team: core\n    trigger_labels: [" + strings.Join(s.TriggerLabels, ", ") + "]\n"
	if s.WebhookSecret != "" {
		keys += "    webhook_secret: " + s.WebhookSecret + "\n"
	}
	table := withMemo(h.svc)
	cfg, err := parseMemo(table, memoConfig(keys))
	if err != nil {
		t.Fatal(err)
	}
	tr, err := table.Tracker(cfg, "ops")
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func (h *memoHarness) CreateTicket(_ *testing.T, nt trackertest.NewTicket) string {
	h.svc.mu.Lock()
	defer h.svc.mu.Unlock()
	state := "open"
	if nt.Closed {
		state = "closed"
	}
	id := strconv.Itoa(len(h.svc.tickets) + 1)
	h.svc.tickets = append(h.svc.tickets, &memoTicket{ID: id, Title: nt.Title, Body: nt.Body, State: state, Labels: nt.Labels})
	return id
}

func (h *memoHarness) ReadTicket(t *testing.T, id string) trackers.Ticket {
	mt, err := h.svc.get(memoToken, id)
	if err != nil {
		t.Fatal(err)
	}
	return trackers.Ticket{ID: mt.ID, Title: mt.Title, Body: mt.Body, State: mt.State, Labels: mt.Labels, Comments: mt.Comments}
}

func (h *memoHarness) Delivery(t *testing.T, d trackertest.Delivery) (http.Header, []byte) {
	body := d.Body
	if body == nil {
		mt, err := h.svc.get(memoToken, d.TicketID)
		if err != nil {
			t.Fatal(err)
		}
		p := memoPayload{Event: "edited", Ticket: mt}
		switch d.Kind {
		case trackertest.DeliveryTriggered:
			p.Event, p.Label = "labeled", d.Label
		case trackertest.DeliveryClosed:
			p.Event, p.Ticket.State = "closed", "closed"
		case trackertest.DeliveryUnlabeled:
			p.Event, p.Label = "unlabeled", d.Label
			p.Ticket.Labels = slices.DeleteFunc(p.Ticket.Labels, func(l string) bool { return l == d.Label })
		case trackertest.DeliveryComment:
			p.Event = "commented"
			p.Comment = &struct {
				ID     string `json:"id"`
				Author string `json:"author"`
				Team   string `json:"team"`
				Body   string `json:"body"`
			}{ID: "c-1", Author: "carol", Team: "visitors", Body: d.Comment}
			if d.Trusted {
				p.Comment.Team = "core"
			}
		}
		if body, err = json.Marshal(p); err != nil {
			t.Fatal(err)
		}
	}
	hdr := http.Header{}
	hdr.Set(memoDelivery, fmt.Sprintf("delivery-%d", h.deliveries.Add(1)))
	if d.Secret != "" {
		hdr.Set(memoSignature, hex.EncodeToString(memoSign([]byte(d.Secret), body)))
	}
	return hdr, body
}

func (h *memoHarness) RaceLabelEdit(_ *testing.T, id, label string) func() bool {
	h.svc.mu.Lock()
	defer h.svc.mu.Unlock()
	h.svc.race[id] = label
	return func() bool {
		h.svc.mu.Lock()
		defer h.svc.mu.Unlock()
		return h.svc.raced[id]
	}
}

func (h *memoHarness) PageSize() int { return memoMaxPage }

func (h *memoHarness) DoneCases() []trackertest.DoneCase {
	return []trackertest.DoneCase{{DoneStatus: "done", WantState: "done"}}
}

// RepoHost is nil: memo hosts no code, so the kit skips the pull request
// check and calls none of the methods below.
func (h *memoHarness) RepoHost(*testing.T) trackers.RepoHost { return nil }

func (h *memoHarness) DefaultBranch() string { return "" }

func (h *memoHarness) CreateBranch(t *testing.T, _ string) { t.Fatal("memo hosts no code") }

func (h *memoHarness) PullRequest(t *testing.T, _ int) trackertest.PullRequestState {
	t.Fatal("memo hosts no code")
	return trackertest.PullRequestState{}
}
