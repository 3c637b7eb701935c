package httpauth

import "testing"

func TestBasicRoundTrips(t *testing.T) {
	for _, c := range [][2]string{{"alice", "p@ss:word"}, {"zoë", "ünï"}, {"", ""}} {
		authz := BasicAuthorization(c[0], c[1])
		user, password, ok := ParseBasic(authz)
		if !ok || user != c[0] || password != c[1] {
			t.Errorf("%q parses as %q, %q, %v; want %q", authz, user, password, ok, c)
		}
	}
	if got := BasicAuthorization("Aladdin", "open sesame"); got != "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==" {
		t.Errorf("BasicAuthorization = %s", got) // RFC 7617 §2
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
