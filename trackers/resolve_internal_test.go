package trackers

import "testing"

func TestRepoKeyNormalizesURLs(t *testing.T) {
	same := []string{
		"https://github.com/acme/shop",
		"https://GITHUB.com/acme/shop.git",
		"http://github.com/Acme/Shop/",
		"https://x-access-token:tok@github.com/acme/shop.git",
		"git@github.com:acme/shop.git",
		"ssh://git@github.com/acme/shop",
	}
	for _, u := range same {
		if got := repoKey(u); got != "github.com/acme/shop" {
			t.Errorf("repoKey(%q) = %q", u, got)
		}
	}
	if repoKey("https://github.com/acme/shop-api") == repoKey("https://github.com/acme/shop") {
		t.Error("different repositories normalize alike")
	}
}
