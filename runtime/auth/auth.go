package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"

	"github.com/tetherws/tether/runtime"
)

// unauthorized is a 401 with these challenges and a plain-text body.
// keepAlive leaves the connection open for a client that answers the
// challenge on it.
func unauthorized(challenges []string, body string, keepAlive bool) *runtime.Response {
	h := http.Header{
		"Www-Authenticate": challenges,
		"Content-Type":     {"text/plain; charset=utf-8"},
	}
	if !keepAlive {
		h.Set("Connection", "close")
	}
	return &runtime.Response{Status: http.StatusUnauthorized, Header: h, Body: []byte(body)}
}

// secretEqual compares secrets in constant time (their lengths too).
func secretEqual(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}
