package azuredevops

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/agent-smith/agent-smith/trackers"
)

// Self is the account the personal access token acts as, learned once
// from the organization's connectionData. A PAT is a person's (service
// accounts are people to Azure DevOps), so the identity is never
// Dedicated: agent-smith's comments are that account's comments carrying
// ownMark.
func (t *Tracker) Self(ctx context.Context) (trackers.Identity, error) {
	id, err := t.self.Get(ctx)
	if err != nil {
		return trackers.Identity{}, fmt.Errorf("tracker %s: learn which Azure DevOps account agent-smith is: %w", t.name, err)
	}
	return id, nil
}

var _ trackers.Self = (*Tracker)(nil)

// connectionDataVersion is the api-version of the location service's
// connectionData resource (a preview resource).
const connectionDataVersion = "7.1-preview.1"

// connectionData is the part of GET _apis/connectionData read here.
type connectionData struct {
	AuthenticatedUser struct {
		ID                  string `json:"id"`
		ProviderDisplayName string `json:"providerDisplayName"`
		Properties          struct {
			Account struct {
				Value string `json:"$value"`
			} `json:"Account"`
		} `json:"properties"`
	} `json:"authenticatedUser"`
}

// learnSelf asks the organization who the token authenticates as: the
// identity id (comments' createdBy.id) and the account's unique name
// (service hooks name authors "Display Name <unique name>", without id).
func (a *api) learnSelf(ctx context.Context) (trackers.Identity, error) {
	var cd connectionData
	err := a.do(ctx, call{what: "read the token's identity (connectionData)", method: "GET", idempotent: true,
		path: "/_apis/connectionData", version: connectionDataVersion}, &cd)
	if err != nil {
		return trackers.Identity{}, err
	}
	u := cd.AuthenticatedUser
	if u.ID == "" || u.Properties.Account.Value == "" {
		return trackers.Identity{}, errors.New("connectionData answered without the authenticated user's id and account name")
	}
	return trackers.Identity{ID: u.ID, Name: u.Properties.Account.Value}, nil
}

// ownedBy reports whether text by who is agent-smith's own: who is self
// (by id, or by unique name where a service hook gives no id) and the
// text carries ownMark.
func ownedBy(self trackers.Identity, who identity, text string) bool {
	id := who.ID
	if id == "" && who.UniqueName != "" && strings.EqualFold(who.UniqueName, self.Name) {
		id = self.ID
	}
	return self.Owns(id, isOwn(text))
}
