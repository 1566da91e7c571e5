package gitlab

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/go-logr/logr"
	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/agent-smith/agent-smith/trackers"
)

// trustedLevel is the least access level whose notes may instruct
// agent-smith: Developer, the first role that can push to the project.
const trustedLevel = gl.DeveloperPermissions

const (
	// membershipTTL is how long a snapshot counts as fresh: a member who
	// is removed or demoted can still instruct agent-smith for about
	// this long.
	membershipTTL = 5 * time.Minute
	// unknownAuthorRefresh is the least time between refreshes that notes
	// by authors missing from the snapshot trigger, so a new member is
	// recognised soon without letting strangers' notes drive API calls.
	unknownAuthorRefresh = 30 * time.Second
	// refreshTimeout bounds a refresh started in the background.
	refreshTimeout = time.Minute
)

// verdict is what the snapshot says about a note's author.
type verdict int

const (
	// unknown: the snapshot has not been loaded yet.
	unknown verdict = iota
	untrusted
	trusted
)

// membership is the project's members with their access levels, as of the
// last refresh. The webhook path only reads it (judge never blocks on the
// API); judge starts a refresh in the background when the snapshot is
// stale or does not know the author, and Tracker.RefreshMembers loads it
// synchronously (the wiring calls it at start, the worker's Ticket when it
// is stale).
type membership struct {
	api *api
	log logr.Logger

	// loadMu serialises loads; ensureFresh checks again under it, so
	// callers that find the snapshot stale together read it once.
	loadMu sync.Mutex

	mu     sync.Mutex
	levels map[int64]gl.AccessLevelValue
	// self is the token's user, learned with the first snapshot.
	self trackers.Identity
	// project is the project's numeric id, learned with the first
	// snapshot: deliveries of a renamed or moved project still carry it.
	project  int64
	loadedAt time.Time
	// kickedAt is when judge last started a background refresh.
	kickedAt time.Time
	loading  bool
}

func newMembership(a *api, log logr.Logger) *membership {
	return &membership{api: a, log: log}
}

// judge says whether the user may instruct agent-smith, from the snapshot
// alone, with the token's own user (unknown until the first snapshot),
// and refreshes the snapshot in the background when it is stale or does
// not know the user.
func (m *membership) judge(userID int64) (verdict, trackers.Identity) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.api.Now()
	if m.levels == nil {
		m.kickLocked(now, 0)
		return unknown, trackers.Identity{}
	}
	if now.Sub(m.loadedAt) > membershipTTL {
		m.kickLocked(now, 0)
	}
	level, ok := m.levels[userID]
	switch {
	case !ok && strconv.FormatInt(userID, 10) != m.self.ID:
		// Perhaps a new member: recognised at the next refresh.
		m.kickLocked(now, unknownAuthorRefresh)
	case level >= trustedLevel:
		return trusted, m.self
	}
	return untrusted, m.self
}

// kickLocked starts a background refresh unless one is running or the
// last one started less than minGap ago. m.mu is held.
func (m *membership) kickLocked(now time.Time, minGap time.Duration) {
	if m.loading || (!m.kickedAt.IsZero() && now.Sub(m.kickedAt) < minGap) {
		return
	}
	m.loading, m.kickedAt = true, now
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), refreshTimeout)
		defer cancel()
		err := m.load(ctx)
		m.mu.Lock()
		m.loading = false
		m.mu.Unlock()
		if err != nil {
			m.log.Error(err, "refreshing project membership failed; notes are judged by the previous snapshot", "project", m.api.project)
		}
	}()
}

// fresh reports whether the snapshot was loaded less than ttl ago.
func (m *membership) fresh() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.levels != nil && m.api.Now().Sub(m.loadedAt) <= membershipTTL
}

// ensureFresh loads the snapshot unless it is fresh.
func (m *membership) ensureFresh(ctx context.Context) error {
	if m.fresh() {
		return nil
	}
	m.loadMu.Lock()
	defer m.loadMu.Unlock()
	if m.fresh() {
		return nil
	}
	return m.loadLocked(ctx)
}

// load reads the snapshot now, however fresh it is.
func (m *membership) load(ctx context.Context) error {
	m.loadMu.Lock()
	defer m.loadMu.Unlock()
	return m.loadLocked(ctx)
}

// loadLocked reads the token's own user (once) and every member of the
// project with its effective access level (direct, inherited from groups,
// or through a shared group), and replaces the snapshot. m.loadMu is held.
func (m *membership) loadLocked(ctx context.Context) error {
	m.mu.Lock()
	self, project := m.self, m.project
	m.mu.Unlock()
	if project == 0 {
		var p *gl.Project
		err := m.api.Call(ctx, "read project "+m.api.project, true, func(ctx context.Context) (err error) {
			p, _, err = m.api.gl.Projects.GetProject(m.api.project, nil, gl.WithContext(ctx))
			return err
		})
		if err != nil {
			return err
		}
		project = p.ID
	}
	if !self.Known() {
		var me *gl.User
		err := m.api.Call(ctx, "read the token's user", true, func(ctx context.Context) (err error) {
			me, _, err = m.api.gl.Users.CurrentUser(gl.WithContext(ctx))
			return err
		})
		if err != nil {
			return err
		}
		if me.ID == 0 {
			return errors.New("GET /user answered without a user id")
		}
		// A project or group access token acts as a bot user made for
		// it; a personal token acts as a person, whose own notes are
		// theirs unless they carry agent-smith's mark.
		self = trackers.Identity{ID: strconv.FormatInt(me.ID, 10), Name: me.Username, Dedicated: me.Bot}
	}
	levels := map[int64]gl.AccessLevelValue{}
	opts := &gl.ListProjectMembersOptions{ListOptions: gl.ListOptions{PerPage: 100}}
	for {
		var page []*gl.ProjectMember
		var resp *gl.Response
		err := m.api.Call(ctx, fmt.Sprintf("list members of project %s (page %d)", m.api.project, max(opts.Page, 1)), true, func(ctx context.Context) (err error) {
			page, resp, err = m.api.gl.ProjectMembers.ListAllProjectMembers(m.api.project, opts, gl.WithContext(ctx))
			return err
		})
		if err != nil {
			return err
		}
		for _, mem := range page {
			// Blocked or deactivated accounts keep their membership
			// but cannot act; they are not trusted.
			if mem.State != "" && mem.State != "active" {
				continue
			}
			levels[mem.ID] = max(levels[mem.ID], mem.AccessLevel)
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	m.mu.Lock()
	m.levels, m.self, m.project, m.loadedAt = levels, self, project, m.api.Now()
	m.mu.Unlock()
	return nil
}

// projectID is the project's numeric id; 0 until the first snapshot.
func (m *membership) projectID() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.project
}

// levelOf is the snapshot's access level of a user (0 when not a member)
// and the token's own user.
func (m *membership) levelOf(userID int64) (gl.AccessLevelValue, trackers.Identity) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.levels[userID], m.self
}

// identity is the token's own user; unknown until the first snapshot.
func (m *membership) identity() trackers.Identity {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.self
}
