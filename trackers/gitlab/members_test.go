package gitlab

import (
	"net/http"
	"strings"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/trackers/gitlab/gitlabfake"
)

// gatedTransport holds requests whose path contains block until release
// is closed.
type gatedTransport struct {
	next    http.RoundTripper
	block   string
	release chan struct{}
	held    chan struct{}
}

func (g *gatedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.Contains(r.URL.Path, g.block) {
		select {
		case g.held <- struct{}{}:
		default:
		}
		<-g.release
	}
	return g.next.RoundTrip(r)
}

func (f *fixture) memberListings() int {
	n := 0
	for _, r := range f.fake.Requests() {
		if strings.Contains(r.Path, "/members/all") {
			n++
		}
	}
	return n
}

func (f *fixture) note(iid int, body, author string) gitlabfake.Delivery {
	return f.fake.NoteHook(shopProject, f.fake.AddNote(shopProject, iid, body, author), "create")
}

func TestNoteIsJudgedOnceMembershipIsReadWithoutWaitingForIt(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	gate := &gatedTransport{next: f.fake.Client().Transport, block: "/members/all", release: make(chan struct{}), held: make(chan struct{}, 1)}
	released := false
	t.Cleanup(func() {
		if !released {
			close(gate.release)
		}
	})
	// A tracker that has not read the members yet, as right after start.
	cold, err := New("shop", trackerConfig(f.fake), f.cfg, WithHTTPClient(&http.Client{Transport: gate}))
	g.Expect(err).NotTo(HaveOccurred())
	iid := f.fake.CreateIssue(shopProject, gitlabfake.NewIssue{Title: "x", Labels: []string{"agent-smith"}})
	d := f.note(iid, "/agent-smith fix-bug", "dev")

	ev, err := cold.ParseWebhook(d.Header(testSecret), d.Body)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(ev.Ignore).To(ContainSubstring("members of project acme/shop are still being read"))
	g.Expect(ev.Comment.Trusted).To(BeFalse())
	// The member list request is still held: the delivery was answered
	// without waiting for it.
	g.Eventually(gate.held).Should(Receive())

	close(gate.release)
	released = true
	g.Eventually(func(g Gomega) {
		ev, err := cold.ParseWebhook(d.Header(testSecret), d.Body)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(ev.Ignore).To(BeEmpty())
		g.Expect(ev.Comment.Trusted).To(BeTrue())
	}).Should(Succeed())
}

func TestNewDeveloperIsRecognisedAfterTheRefreshTheirNoteStarts(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	iid := f.fake.CreateIssue(shopProject, gitlabfake.NewIssue{Title: "x", Labels: []string{"agent-smith"}})
	f.fake.AddUser("newbie")
	f.fake.AddMember(shopProject, "newbie", gitlabfake.AccessDeveloper)
	d := f.note(iid, "/agent-smith", "newbie")
	listings := f.memberListings()

	ev, err := f.tracker.ParseWebhook(d.Header(testSecret), d.Body)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(ev.Comment.Trusted).To(BeFalse(), "the snapshot predates the membership")
	g.Eventually(func(g Gomega) {
		ev, err := f.tracker.ParseWebhook(d.Header(testSecret), d.Body)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(ev.Comment.Trusted).To(BeTrue())
	}).Should(Succeed())
	g.Expect(f.memberListings()).To(Equal(listings + 1))
}

func TestStrangersNotesDoNotDriveMemberListings(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	iid := f.fake.CreateIssue(shopProject, gitlabfake.NewIssue{Title: "x", Labels: []string{"agent-smith"}})
	m := f.tracker.members
	idle := func() bool {
		m.mu.Lock()
		defer m.mu.Unlock()
		return !m.loading
	}
	listings := f.memberListings()

	d := f.note(iid, "/agent-smith", "stranger")
	_, err := f.tracker.ParseWebhook(d.Header(testSecret), d.Body)
	g.Expect(err).NotTo(HaveOccurred())
	g.Eventually(idle).Should(BeTrue())
	g.Expect(f.memberListings()).To(Equal(listings+1), "an unknown author refreshes the snapshot once")

	for range 5 {
		d := f.note(iid, "/agent-smith", "stranger")
		ev, err := f.tracker.ParseWebhook(d.Header(testSecret), d.Body)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(ev.Comment.Trusted).To(BeFalse())
		g.Expect(idle()).To(BeTrue(), "no refresh within %s of the last", unknownAuthorRefresh)
	}
	g.Expect(f.memberListings()).To(Equal(listings + 1))

	f.waits.Advance(unknownAuthorRefresh)
	_, err = f.tracker.ParseWebhook(d.Header(testSecret), d.Body)
	g.Expect(err).NotTo(HaveOccurred())
	g.Eventually(f.memberListings).Should(Equal(listings + 2))
}

func TestRemovedDeveloperLosesTrustOnceTheSnapshotAges(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	iid := f.fake.CreateIssue(shopProject, gitlabfake.NewIssue{Title: "x", Labels: []string{"agent-smith"}})
	d := f.note(iid, "/agent-smith", "dev")
	f.fake.RemoveMember(shopProject, "dev")
	listings := f.memberListings()

	ev, err := f.tracker.ParseWebhook(d.Header(testSecret), d.Body)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(ev.Comment.Trusted).To(BeTrue(), "within the TTL the snapshot stands")
	g.Expect(f.memberListings()).To(Equal(listings))

	f.waits.Advance(membershipTTL + 1)
	g.Eventually(func(g Gomega) {
		ev, err := f.tracker.ParseWebhook(d.Header(testSecret), d.Body)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(ev.Comment.Trusted).To(BeFalse())
	}).Should(Succeed())
}
