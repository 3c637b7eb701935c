package httpauth

import (
	"testing"

	"github.com/tetherws/tether/ws"
)

// ParseBasic reads what the client's encoder, ws.BasicAuthorization,
// writes.
func TestBasicRoundTrips(t *testing.T) {
	for _, c := range [][2]string{{"alice", "p@ss:word"}, {"zoë", "ünï"}, {"", ""}} {
		authz := ws.BasicAuthorization(c[0], c[1])
		user, password, ok := ParseBasic(authz)
		if !ok || user != c[0] || password != c[1] {
			t.Errorf("%q parses as %q, %q, %v; want %q", authz, user, password, ok, c)
		}
	}
	if user, password, ok := ParseBasic("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="); !ok || user != "Aladdin" || password != "open sesame" {
		t.Errorf("RFC 7617 §2's example parses as %q, %q, %v", user, password, ok)
	}
}

func TestParseBasicRefusesOtherCredentials(t *testing.T) {
	for _, authz := range []string{"", "Bearer abc", "Basic !!!", "Basic YWxpY2U=", "Digest username=x"} {
		if user, password, ok := ParseBasic(authz); ok {
			t.Errorf("ParseBasic(%q) = %q, %q, true", authz, user, password)
		}
	}
	if user, password, ok := ParseBasic("  basic   YTpi  "); !ok || user != "a" || password != "b" {
		t.Errorf("scheme case and spaces: %q, %q, %v", user, password, ok)
	}
}
