package config

import "testing"

func TestDeriveAPIURL(t *testing.T) {
	cases := []struct {
		typ  RepoType
		url  string
		want string
	}{
		{RepoGitHub, "https://github.com/acme/api.git", "https://api.github.com"},
		{RepoGitHub, "https://ghe.acme.corp/acme/api", "https://ghe.acme.corp/api/v3"},
		{RepoGitLab, "https://gitlab.acme.corp/group/sub/api.git", "https://gitlab.acme.corp"},
		{RepoAzureDevOps, "https://dev.azure.com/acme-org/Platform/_git/TodoList.Api", "https://dev.azure.com/acme-org"},
		{RepoAzureDevOps, "https://acme.visualstudio.com/Platform/_git/Api", "https://acme.visualstudio.com"},
		{RepoAzureDevOps, "https://tfs.acme.corp/DefaultCollection/Platform/_git/Api", "https://tfs.acme.corp/DefaultCollection"},
		{RepoGit, "https://git.acme.corp/api.git", ""},
		{RepoGitHub, "git@github.com:acme/api.git", ""},
	}
	for _, tc := range cases {
		if got := deriveAPIURL(tc.typ, tc.url); got != tc.want {
			t.Errorf("deriveAPIURL(%s, %s) = %q, want %q", tc.typ, tc.url, got, tc.want)
		}
	}
}
