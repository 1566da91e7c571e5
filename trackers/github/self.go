package github

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	gh "github.com/google/go-github/v88/github"

	"github.com/agent-smith/agent-smith/trackers"
)

// Self is the account the tracker acts as, learned once (with the
// repository's id, see learn): with a token, the
// token's user (GET /user), a person whose comments without agent-smith's
// mark stay theirs; with a GitHub App, the App's bot ({slug}[bot], from GET
// /app and GET /users/{slug}[bot]), which writes nothing but agent-smith's
// comments.
func (t *Tracker) Self(ctx context.Context) (trackers.Identity, error) {
	id, err := t.self.Get(ctx)
	if err != nil {
		return trackers.Identity{}, fmt.Errorf("tracker %s: learn which GitHub account agent-smith is: %w", t.name, err)
	}
	return id, nil
}

var _ trackers.Self = (*Tracker)(nil)

// learn is what the tracker learns of GitHub at warm-up (connect.Warm
// asks for Self): the repository's id, so that webhook deliveries are
// matched to the repository after a rename, then the account.
func (t *Tracker) learn(ctx context.Context) (trackers.Identity, error) {
	if t.repoID.Load() == 0 {
		var r *gh.Repository
		err := t.api.Call(ctx, "read repository "+t.repo, true, func(ctx context.Context) (err error) {
			r, _, err = t.api.gh.Repositories.Get(ctx, t.api.owner, t.api.repo)
			return err
		})
		if err != nil {
			return trackers.Identity{}, err
		}
		t.repoID.Store(r.GetID())
	}
	return t.api.learnSelf(ctx)
}

// learnSelf asks GitHub who the credentials act as.
func (a *api) learnSelf(ctx context.Context) (trackers.Identity, error) {
	login := ""
	if a.app != nil {
		var app *gh.App
		err := a.Call(ctx, "read the GitHub App", true, func(ctx context.Context) (err error) {
			app, _, err = a.app.Apps.Get(ctx, "")
			return err
		})
		if err != nil {
			return trackers.Identity{}, err
		}
		if app.GetSlug() == "" {
			return trackers.Identity{}, errors.New("GET /app answered without the App's slug")
		}
		login = app.GetSlug() + "[bot]"
	}
	var u *gh.User
	what := "read the token's user"
	if login != "" {
		what = "read the App's bot user " + login
	}
	err := a.Call(ctx, what, true, func(ctx context.Context) (err error) {
		u, _, err = a.gh.Users.Get(ctx, login)
		return err
	})
	if err != nil {
		return trackers.Identity{}, err
	}
	if u.GetID() == 0 {
		return trackers.Identity{}, fmt.Errorf("%s: answer without a user id", what)
	}
	return trackers.Identity{
		ID: strconv.FormatInt(u.GetID(), 10), Name: u.GetLogin(),
		// A token's user is a person (or a machine user people may also
		// sign in as); only a bot account is agent-smith's alone.
		Dedicated: u.GetType() == "Bot",
	}, nil
}

// owns reports whether a comment by the user with id authorID and body is
// agent-smith's own, by the identity self.
func owns(self trackers.Identity, authorID int64, body string) bool {
	return self.Owns(strconv.FormatInt(authorID, 10), trackers.Marked(body))
}
