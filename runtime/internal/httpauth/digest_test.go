package httpauth

import (
	"crypto/sha512"
	"encoding/hex"
	"strings"
	"testing"
)

// The example of RFC 7616 §3.9.1.
const (
	rfcChallenges = `Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, ` +
		`nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS", ` +
		`Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=MD5, ` +
		`nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"`
	rfcCnonce   = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"
	rfcSHA256   = "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
	rfcMD5      = "8ca523f5e9506fed4657c9700eebdbec"
	rfcUser     = "Mufasa"
	rfcPassword = "Circle of Life"
)

func TestDigestMatchesTheRFC7616Example(t *testing.T) {
	for alg, want := range map[string]string{"SHA-256": rfcSHA256, "MD5": rfcMD5} {
		d := Digest{
			Algorithm: alg, Username: rfcUser, Realm: "http-auth@example.org", Password: rfcPassword,
			Method: "GET", URI: "/dir/index.html", Nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
			NC: "00000001", Cnonce: rfcCnonce, QOP: "auth",
		}
		if got, ok := d.Response(); !ok || got != want {
			t.Errorf("%s response = %s, want %s", alg, got, want)
		}
	}
	// From the header: two challenges in one WWW-Authenticate value; the
	// first (SHA-256) is answered, with qop=auth.
	ch := PickDigestChallenge([]string{rfcChallenges})
	if ch == nil || ch.Algorithm != "SHA-256" || ch.QOP != "auth" || ch.Realm != "http-auth@example.org" {
		t.Fatalf("challenge = %+v", ch)
	}
	authz, err := ch.Authorization(rfcUser, rfcPassword, "GET", "/dir/index.html", rfcCnonce, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := `Digest username="Mufasa", realm="http-auth@example.org", uri="/dir/index.html", algorithm=SHA-256, ` +
		`nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", nc=00000001, cnonce="` + rfcCnonce + `", qop=auth, ` +
		`response="` + rfcSHA256 + `", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"`
	if authz != want {
		t.Fatalf("Authorization:\n got %s\nwant %s", authz, want)
	}
	// The MD5 challenge alone, as in separate header fields.
	ch = PickDigestChallenge([]string{`Basic realm="x"`, rfcChallenges[strings.Index(rfcChallenges, "Digest realm=\"http-auth@example.org\", qop=\"auth, auth-int\", algorithm=MD5"):]})
	authz, _ = ch.Authorization(rfcUser, rfcPassword, "GET", "/dir/index.html", rfcCnonce, 1)
	if !strings.Contains(authz, `response="`+rfcMD5+`"`) || !strings.Contains(authz, "algorithm=MD5") {
		t.Fatalf("MD5 Authorization: %s", authz)
	}
}

func TestDigestClientUserhashAndNonASCIIUsername(t *testing.T) {
	// userhash (RFC 7616 §3.4.4): the username is H(user:realm).
	ch := PickDigestChallenge([]string{`Digest realm="api@example.org", qop="auth", algorithm=SHA-512-256, nonce="n", userhash=true`})
	authz, err := ch.Authorization("Jäsøn Doe", "Secret, or not?", "GET", "/doe.json", "c", 1)
	if err != nil {
		t.Fatal(err)
	}
	h := sha512.Sum512_256([]byte("Jäsøn Doe:api@example.org"))
	if !strings.Contains(authz, `username="`+hex.EncodeToString(h[:])+`"`) || !strings.Contains(authz, "userhash=true") {
		t.Fatalf("userhash Authorization: %s", authz)
	}
	// Without userhash, a non-ASCII username goes in username* (RFC 8187).
	ch.Userhash = false
	authz, _ = ch.Authorization("Jäsøn Doe", "pw", "GET", "/", "c", 1)
	if !strings.Contains(authz, `username*=UTF-8''J%C3%A4s%C3%B8n%20Doe`) {
		t.Fatalf("username*: %s", authz)
	}
	// Unsupported algorithms or qop are skipped.
	if ch := PickDigestChallenge([]string{`Digest realm="r", nonce="n", algorithm=SHA3`, `Digest realm="r", nonce="n", qop="auth-conf"`}); ch != nil {
		t.Fatalf("picked %+v", ch)
	}
}

func TestDigestSessQopAuthIntAndUnknownInputs(t *testing.T) {
	base := Digest{Algorithm: "SHA-256", Username: "u", Realm: "r", Password: "p",
		Method: "GET", URI: "/", Nonce: "n", NC: "00000001", Cnonce: "c", QOP: "auth"}
	plain, _ := base.Response()
	sess := base
	sess.Algorithm = "sha-256-sess" // names are case-insensitive
	authInt := base
	authInt.QOP = "auth-int"
	legacy := base
	legacy.QOP = ""
	seen := map[string]bool{plain: true}
	for name, d := range map[string]Digest{"-sess": sess, "auth-int": authInt, "no qop": legacy} {
		got, ok := d.Response()
		if !ok || len(got) != 64 || seen[got] {
			t.Errorf("%s: response %q, %v: want a new SHA-256 hex digest", name, got, ok)
		}
		seen[got] = true
	}
	bad := base
	bad.Algorithm = "SHA3"
	if _, ok := bad.Response(); ok {
		t.Error("unknown algorithm accepted")
	}
	bad = base
	bad.QOP = "auth-conf"
	if _, ok := bad.Response(); ok {
		t.Error("unknown qop accepted")
	}
	if _, err := (&DigestChallenge{Algorithm: "SHA3", Nonce: "n"}).Authorization("u", "p", "GET", "/", "c", 1); err == nil ||
		!strings.HasPrefix(err.Error(), "tether: ") {
		t.Errorf("Authorization with an unknown algorithm: %v", err)
	}
}

func TestPickDigestChallengePrefersAuthToAuthInt(t *testing.T) {
	for in, want := range map[string]string{
		`Digest nonce="n", qop="auth-int, auth"`: "auth",
		`Digest nonce="n", qop="auth-int"`:       "auth-int",
		`Digest nonce="n"`:                       "",
	} {
		if ch := PickDigestChallenge([]string{in}); ch == nil || ch.QOP != want {
			t.Errorf("%s: picked %+v, want qop %q", in, ch, want)
		}
	}
	if ch := PickDigestChallenge([]string{`Digest realm="r"`}); ch != nil {
		t.Errorf("a challenge without a nonce was picked: %+v", ch)
	}
}

func TestDigestUsername(t *testing.T) {
	for _, tt := range []struct {
		params map[string]string
		want   string
		ok     bool
	}{
		{map[string]string{"username": "alice"}, "alice", true},
		{map[string]string{"username*": "UTF-8''J%C3%A4s%C3%B8n%20Doe"}, "Jäsøn Doe", true},
		{map[string]string{"username*": "utf-8'en'zo%C3%AB"}, "zoë", true},
		{map[string]string{}, "", false},
		{map[string]string{"username": ""}, "", false},
		{map[string]string{"username": "a", "username*": "UTF-8''b"}, "", false},
		{map[string]string{"username": "a", "userhash": "true"}, "", false},
		{map[string]string{"username*": "ISO-8859-1''x"}, "", false},
		{map[string]string{"username*": "UTF-8'x"}, "", false},
		{map[string]string{"username*": "UTF-8''%zz"}, "", false},
		{map[string]string{"username*": "UTF-8''%ff"}, "", false},
	} {
		got, ok := DigestUsername(tt.params)
		if got != tt.want || ok != tt.ok {
			t.Errorf("DigestUsername(%v) = %q, %v; want %q, %v", tt.params, got, ok, tt.want, tt.ok)
		}
	}
}

func TestNewCnonceIsFreshEachTime(t *testing.T) {
	a, b := NewCnonce(), NewCnonce()
	if a == b || len(a) != 22 {
		t.Fatalf("cnonces %q and %q", a, b)
	}
}
