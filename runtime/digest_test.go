package runtime

import (
	"crypto/sha512"
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
		d := digestParams{
			algorithm: alg, username: rfcUser, realm: "http-auth@example.org", password: rfcPassword,
			method: "GET", uri: "/dir/index.html", nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
			nc: "00000001", cnonce: rfcCnonce, qop: "auth",
		}
		if got, ok := d.response(); !ok || got != want {
			t.Errorf("%s response = %s, want %s", alg, got, want)
		}
	}
	// From the header: two challenges in one WWW-Authenticate value; the
	// first (SHA-256) is answered, with qop=auth.
	ch := pickDigestChallenge([]string{rfcChallenges})
	if ch == nil || ch.algorithm != "SHA-256" || ch.qop != "auth" || ch.realm != "http-auth@example.org" {
		t.Fatalf("challenge = %+v", ch)
	}
	authz, err := ch.authorization(rfcUser, rfcPassword, "GET", "/dir/index.html", rfcCnonce, 1)
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
	ch = pickDigestChallenge([]string{`Basic realm="x"`, rfcChallenges[strings.Index(rfcChallenges, "Digest realm=\"http-auth@example.org\", qop=\"auth, auth-int\", algorithm=MD5"):]})
	authz, _ = ch.authorization(rfcUser, rfcPassword, "GET", "/dir/index.html", rfcCnonce, 1)
	if !strings.Contains(authz, `response="`+rfcMD5+`"`) || !strings.Contains(authz, "algorithm=MD5") {
		t.Fatalf("MD5 Authorization: %s", authz)
	}
}

func TestDigestClientUserhashAndNonASCIIUsername(t *testing.T) {
	// userhash (RFC 7616 §3.4.4): the username is H(user:realm).
	ch := pickDigestChallenge([]string{`Digest realm="api@example.org", qop="auth", algorithm=SHA-512-256, nonce="n", userhash=true`})
	authz, err := ch.authorization("Jäsøn Doe", "Secret, or not?", "GET", "/doe.json", "c", 1)
	if err != nil {
		t.Fatal(err)
	}
	h := sha512.Sum512_256([]byte("Jäsøn Doe:api@example.org"))
	if !strings.Contains(authz, `username="`+hexString(h[:])+`"`) || !strings.Contains(authz, "userhash=true") {
		t.Fatalf("userhash Authorization: %s", authz)
	}
	// Without userhash, a non-ASCII username goes in username* (RFC 8187).
	ch.userhash = false
	authz, _ = ch.authorization("Jäsøn Doe", "pw", "GET", "/", "c", 1)
	if !strings.Contains(authz, `username*=UTF-8''J%C3%A4s%C3%B8n%20Doe`) {
		t.Fatalf("username*: %s", authz)
	}
	// Unsupported algorithms or qop are skipped.
	if ch := pickDigestChallenge([]string{`Digest realm="r", nonce="n", algorithm=SHA3`, `Digest realm="r", nonce="n", qop="auth-conf"`}); ch != nil {
		t.Fatalf("picked %+v", ch)
	}
}

func hexString(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}
