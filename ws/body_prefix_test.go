package ws

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

// A body over the limit fails with ErrSecurityLimit and comes back cut to
// the limit, however it is delimited.
func TestReadResponseBodyOverTheLimitReturnsItsPrefix(t *testing.T) {
	body := "0123456789abcdefghij" // 20 bytes
	lim := Limits{MaxBodySize: 10}
	for _, tc := range []struct {
		name string
		h    http.Header
		in   string
		want string
	}{
		{"content-length", http.Header{"Content-Length": {"20"}}, body, "0123456789"},
		{"content-length, body cut short", http.Header{"Content-Length": {"999999"}}, "01234", "01234"},
		{"chunked", http.Header{"Transfer-Encoding": {"chunked"}}, chunked(body, 3), "0123456789"},
		{"until EOF", nil, body, "0123456789"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadResponseBody(strings.NewReader(tc.in), respWith(403, tc.h), lim)
			if !errors.Is(err, ErrSecurityLimit) || !errors.Is(err, ErrInvalidHandshake) {
				t.Fatalf("err = %v, want ErrSecurityLimit", err)
			}
			if string(got) != tc.want {
				t.Fatalf("body %q, want %q", got, tc.want)
			}
		})
	}
}
