package auth

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/tetherws/tether/runtime"
	"github.com/tetherws/tether/ws"
)

// basicServer serves connections that send their path and user name,
// behind hook.
func basicServer(t *testing.T, hook runtime.ProcessRequestFunc) string {
	t.Helper()
	return serve(t, &runtime.Server{Handler: sendPathAndUser, Options: runtime.ServerOptions{ProcessRequest: hook}})
}

func TestBasicAuthRejectsWith401AndAChallenge(t *testing.T) {
	a := &BasicAuth{Realm: `chat "room"`, Credentials: map[string]string{"alice": "p@ss:word"}}
	addr := basicServer(t, a.ProcessRequest)
	for _, tc := range []struct {
		name, userinfo, authz, body string
	}{
		{"missing", "", "", "Missing credentials\n"},
		{"other scheme", "", "Bearer abc", "Unsupported credentials\n"},
		{"bad base64", "", "Basic !!!", "Unsupported credentials\n"},
		{"no colon", "", "Basic YWxpY2U=", "Unsupported credentials\n"},
		{"wrong password", "alice:p%40ss@", "", "Invalid credentials\n"},
		{"unknown user", "bob:p%40ss%3Aword@", "", "Invalid credentials\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := &runtime.DialOptions{}
			if tc.authz != "" {
				o.Header = http.Header{"Authorization": {tc.authz}}
			}
			_, resp, err := runtime.Dial(testCtx(t), "ws://"+tc.userinfo+addr+"/", o)
			var se *ws.StatusError
			if !errors.As(err, &se) || resp.StatusCode != http.StatusUnauthorized || string(se.Body) != tc.body {
				t.Fatalf("err = %v, body %q; want 401 %q", err, bodyOf(se), tc.body)
			}
			if got := resp.Header.Get("Www-Authenticate"); got != `Basic realm="chat \"room\"", charset="UTF-8"` {
				t.Fatalf("WWW-Authenticate: %s", got)
			}
		})
	}
}

func TestBasicAuthAcceptsAndSetsConnUsername(t *testing.T) {
	a := &BasicAuth{Realm: "r", Credentials: map[string]string{"alice": "p@ss:word", "zoë": "ünï"}}
	addr := basicServer(t, a.ProcessRequest)
	// User info is percent-decoded.
	c := dial(t, "ws://alice:p%40ss%3Aword@"+addr+"/in", nil)
	if recvText(t, c) != "/in" || recvText(t, c) != "alice" {
		t.Fatal("wrong path or user name")
	}
	// Explicit credentials, UTF-8.
	c = dial(t, "ws://"+addr+"/in", &runtime.DialOptions{Auth: &runtime.Credentials{Username: "zoë", Password: "ünï"}})
	if recvText(t, c) != "/in" || recvText(t, c) != "zoë" {
		t.Fatal("wrong path or user name")
	}
	// A non-ASCII URL user info is UTF-8 percent-encoded, then decoded.
	c = dial(t, "ws://zoë:ünï@"+addr+"/in", nil)
	if recvText(t, c) != "/in" || recvText(t, c) != "zoë" {
		t.Fatal("wrong path or user name")
	}
}

func TestBasicAuthCheckCallbackAndItsErrors(t *testing.T) {
	a := &BasicAuth{Check: func(_ context.Context, user, password string) (bool, error) {
		if user == "broken" {
			return false, errors.New("database down")
		}
		return user == password, nil
	}}
	addr := basicServer(t, a.ProcessRequest)
	c := dial(t, "ws://same:same@"+addr+"/", nil)
	recvText(t, c)
	if got := recvText(t, c); got != "same" {
		t.Fatalf("user %q", got)
	}
	_, resp, _ := runtime.Dial(testCtx(t), "ws://same:other@"+addr+"/", nil)
	if resp == nil || resp.StatusCode != 401 {
		t.Fatalf("wrong password: %v", resp)
	}
	_, resp, _ = runtime.Dial(testCtx(t), "ws://broken:x@"+addr+"/", nil)
	if resp == nil || resp.StatusCode != 500 {
		t.Fatalf("Check error: %v", resp)
	}
	// Neither Credentials nor Check: a configuration error, 500.
	addr = basicServer(t, (&BasicAuth{}).ProcessRequest)
	_, resp, _ = runtime.Dial(testCtx(t), "ws://a:b@"+addr+"/", nil)
	if resp == nil || resp.StatusCode != 500 {
		t.Fatalf("unconfigured: %v", resp)
	}
}

func TestBasicAuthErrorsCarryThePackagePrefix(t *testing.T) {
	r, _ := http.NewRequest(http.MethodGet, "/", nil)
	if _, err := (&BasicAuth{}).ProcessRequest(context.Background(), r); err == nil || !strings.HasPrefix(err.Error(), "auth: ") {
		t.Fatalf("unconfigured: %v", err)
	}
	down := errors.New("database down")
	a := &BasicAuth{Check: func(context.Context, string, string) (bool, error) { return false, down }}
	r.Header.Set("Authorization", "Basic YTpi")
	if _, err := a.ProcessRequest(context.Background(), r); !errors.Is(err, down) || !strings.HasPrefix(err.Error(), "auth: ") {
		t.Fatalf("Check error: %v", err)
	}
}

// newRoomRouter routes /chat/{room} to a handler that sends the user name
// and the room.
func newRoomRouter() *runtime.Router {
	var rt runtime.Router
	rt.Handle("/chat/{room}", func(ctx context.Context, c *runtime.Conn) error {
		return c.SendText(ctx, c.Username()+" in "+c.Request().PathValue("room"))
	})
	return &rt
}

func TestBasicAuthChainsWithARouter(t *testing.T) {
	rt := newRoomRouter()
	a := &BasicAuth{Realm: "r", Credentials: map[string]string{"u": "p"}}
	addr := serve(t, &runtime.Server{Handler: rt.Serve, Options: runtime.ServerOptions{
		ProcessRequest: runtime.ChainProcessRequest(rt.ProcessRequest, a.ProcessRequest),
	}})
	if _, resp, _ := runtime.Dial(testCtx(t), "ws://"+addr+"/nope", nil); resp == nil || resp.StatusCode != 404 {
		t.Fatalf("unknown path: %v", resp)
	}
	if _, resp, _ := runtime.Dial(testCtx(t), "ws://"+addr+"/chat/x", nil); resp == nil || resp.StatusCode != 401 {
		t.Fatalf("no credentials: %v", resp)
	}
	c := dial(t, "ws://u:p@"+addr+"/chat/x", nil)
	if got := recvText(t, c); got != "u in x" {
		t.Fatalf("got %q", got)
	}
}

// Over HTTP/2 (RFC 8441) the hooks see the request as over HTTP/1.1:
// Basic credentials, Router patterns and path values.
func TestBasicAuthAndRouterOverHTTP2(t *testing.T) {
	rt := newRoomRouter()
	a := &BasicAuth{Realm: "chat", Credentials: map[string]string{"alice": "pw"}}
	s := &runtime.Server{Handler: rt.Serve, Options: runtime.ServerOptions{
		ProcessRequest: runtime.ChainProcessRequest(a.ProcessRequest, rt.ProcessRequest),
	}}
	u, o := startH2(t, s, "/chat/gophers")
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	authed := strings.Replace(u, "wss://", "wss://alice:pw@", 1)
	c := dial(t, authed, o)
	if got := recvText(t, c); got != "alice in gophers" {
		t.Fatalf("got %q", got)
	}
	if r := c.Response(); r.ProtoMajor != 2 {
		t.Fatalf("connection over %s, want HTTP/2", r.Proto)
	}
	if _, resp, err := runtime.Dial(testCtx(t), u, o); resp == nil || resp.StatusCode != http.StatusUnauthorized || !errors.Is(err, ws.ErrInvalidStatus) {
		t.Fatalf("without credentials: %v %v", resp, err)
	}
	if _, resp, err := runtime.Dial(testCtx(t), strings.Replace(authed, "/chat/gophers", "/nowhere", 1), o); resp == nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown path: %v %v", resp, err)
	}
}
