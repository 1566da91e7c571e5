package jira

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/agent-smith/agent-smith/trackers"
)

// Self is the account the API token acts as, learned once from GET
// /myself. It is agent-smith's alone (Dedicated) when it is an app account
// or the configured agent user; a person's API token leaves that person's
// unmarked comments theirs.
func (t *Tracker) Self(ctx context.Context) (trackers.Identity, error) {
	id, err := t.self.Get(ctx)
	if err != nil {
		return trackers.Identity{}, fmt.Errorf("tracker %s: learn which Jira account agent-smith is: %w", t.name, err)
	}
	return id, nil
}

var _ trackers.Self = (*Tracker)(nil)

func (t *Tracker) learnSelf(ctx context.Context) (trackers.Identity, error) {
	var me userJSON
	err := t.api.do(ctx, "read the token's account (myself)", request{method: http.MethodGet, path: "/myself", idempotent: true}, &me)
	if err != nil {
		return trackers.Identity{}, err
	}
	if me.AccountID == "" {
		return trackers.Identity{}, errors.New("GET /myself answered without an accountId")
	}
	return trackers.Identity{
		ID: me.AccountID, Name: who(&me),
		Dedicated: strings.EqualFold(me.AccountType, "app") || t.isAgent(&me),
	}, nil
}
