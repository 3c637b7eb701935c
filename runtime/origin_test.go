package runtime

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/tetherws/tether/ws"
)

// dialStatus dials url with Origin origin ("" for none) and returns the
// handshake's status: 101, or the status of the refusal.
func dialStatus(t *testing.T, url, origin string, o *DialOptions) int {
	t.Helper()
	if o == nil {
		o = &DialOptions{}
	}
	oc := *o
	oc.Origin = origin
	c, _, err := Dial(testCtx(t), url, &oc)
	if err == nil {
		c.CloseNow()
		return http.StatusSwitchingProtocols
	}
	var se *ws.StatusError
	if !errors.As(err, &se) {
		t.Fatalf("Dial with Origin %q: %v", origin, err)
	}
	if se.StatusCode() == http.StatusForbidden && !strings.Contains(string(se.Body), "invalid Origin header") {
		t.Errorf("403 for Origin %q without the reason: %q", origin, se.Body)
	}
	return se.StatusCode()
}

func TestZeroConfigServerRefusesCrossOriginHandshakes(t *testing.T) {
	url := startServer(t, &Server{Handler: echoHandler})
	self := "http://" + hostOf(url)
	for _, tc := range []struct {
		origin string
		want   int
	}{
		{"http://evil.example", 403},
		{"https://" + hostOf(url), 403}, // another scheme is another origin
		{"http://localhost:1", 403},
		{"null", 403},
		{self, 101},
		{"", 101}, // no Origin: not a browser
	} {
		if got := dialStatus(t, url, tc.origin, nil); got != tc.want {
			t.Errorf("Origin %q: status %d, want %d", tc.origin, got, tc.want)
		}
	}
}

func TestServeHTTPRefusesCrossOriginHandshakes(t *testing.T) {
	hs := httptest.NewServer(&Server{Handler: echoHandler})
	defer hs.Close()
	url := "ws" + strings.TrimPrefix(hs.URL, "http") + "/"
	if got := dialStatus(t, url, "http://evil.example", nil); got != 403 {
		t.Errorf("cross-origin: status %d, want 403", got)
	}
	if got := dialStatus(t, url, hs.URL, nil); got != 101 {
		t.Errorf("same origin: status %d, want 101", got)
	}
	if got := dialStatus(t, url, "", nil); got != 101 {
		t.Errorf("no Origin: status %d, want 101", got)
	}
}

// Over TLS the server's origin is https://host:port.
func TestSameOriginOverTLSIsHTTPS(t *testing.T) {
	serverTLS, clientTLS := selfSigned(t)
	url := startServer(t, &Server{Handler: echoHandler, TLSConfig: serverTLS})
	wss := "wss://" + hostOf(url) + "/"
	o := &DialOptions{TLSConfig: clientTLS}
	if got := dialStatus(t, wss, "https://"+hostOf(url), o); got != 101 {
		t.Errorf("https origin: status %d, want 101", got)
	}
	if got := dialStatus(t, wss, "http://"+hostOf(url), o); got != 403 {
		t.Errorf("http origin to a TLS server: status %d, want 403", got)
	}
}

func TestAllowedOriginsReplaceTheSameOriginRule(t *testing.T) {
	url := startServer(t, &Server{Handler: echoHandler, Options: ServerOptions{Handshake: ws.ServerHandshake{
		OriginPatterns:     []*regexp.Regexp{regexp.MustCompile(`https://[a-z]+\.example\.org`)},
		AllowMissingOrigin: true,
	}}})
	if got := dialStatus(t, url, "https://chat.example.org", nil); got != 101 {
		t.Errorf("allowed pattern: status %d, want 101", got)
	}
	if got := dialStatus(t, url, "https://evil.example", nil); got != 403 {
		t.Errorf("other origin: status %d, want 403", got)
	}
}

func TestInsecureSkipOriginCheckAcceptsAnyOrigin(t *testing.T) {
	url := startServer(t, &Server{Handler: echoHandler, Options: ServerOptions{InsecureSkipOriginCheck: true}})
	if got := dialStatus(t, url, "http://evil.example", nil); got != 101 {
		t.Errorf("cross-origin with the check off: status %d, want 101", got)
	}
	// Accept takes the same option.
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := Accept(w, r, &ServerOptions{InsecureSkipOriginCheck: true})
		if err == nil {
			c.CloseNow()
		}
	}))
	defer hs.Close()
	if got := dialStatus(t, "ws"+strings.TrimPrefix(hs.URL, "http")+"/", "http://evil.example", nil); got != 101 {
		t.Errorf("Accept, cross-origin with the check off: status %d, want 101", got)
	}
}
