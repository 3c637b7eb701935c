package runtime

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/tetherws/tether/ws"
)

func TestBasicAuthRejectsWith401AndAChallenge(t *testing.T) {
	a := &BasicAuth{Realm: `chat "room"`, Credentials: map[string]string{"alice": "p@ss:word"}}
	rs := startRecServer(t, false, nil, ServerOptions{ProcessRequest: a.ProcessRequest})
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
			o := &DialOptions{}
			if tc.authz != "" {
				o.Header = http.Header{"Authorization": {tc.authz}}
			}
			_, resp, err := Dial(testCtx(t), "ws://"+tc.userinfo+rs.addr+"/", o)
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

func bodyOf(se *ws.StatusError) []byte {
	if se == nil {
		return nil
	}
	return se.Body
}

func TestBasicAuthAcceptsAndSetsConnUsername(t *testing.T) {
	a := &BasicAuth{Realm: "r", Credentials: map[string]string{"alice": "p@ss:word", "zoë": "ünï"}}
	rs := startRecServer(t, false, nil, ServerOptions{ProcessRequest: a.ProcessRequest})
	// User info is percent-decoded.
	c := dial(t, "ws://alice:p%40ss%3Aword@"+rs.addr+"/in", nil)
	if recv(t, c).Text() != "/in" || recv(t, c).Text() != "alice" {
		t.Fatal("wrong path or user name")
	}
	// Explicit credentials, UTF-8.
	c = dial(t, "ws://"+rs.addr+"/in", &DialOptions{Auth: &Credentials{Username: "zoë", Password: "ünï"}})
	if recv(t, c).Text() != "/in" || recv(t, c).Text() != "zoë" {
		t.Fatal("wrong path or user name")
	}
	// A non-ASCII URL user info is UTF-8 percent-encoded, then decoded.
	c = dial(t, "ws://zoë:ünï@"+rs.addr+"/in", nil)
	if recv(t, c).Text() != "/in" || recv(t, c).Text() != "zoë" {
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
	rs := startRecServer(t, false, nil, ServerOptions{ProcessRequest: a.ProcessRequest})
	c := dial(t, "ws://same:same@"+rs.addr+"/", nil)
	recv(t, c)
	if got := recv(t, c).Text(); got != "same" {
		t.Fatalf("user %q", got)
	}
	_, resp, _ := Dial(testCtx(t), "ws://same:other@"+rs.addr+"/", nil)
	if resp == nil || resp.StatusCode != 401 {
		t.Fatalf("wrong password: %v", resp)
	}
	_, resp, _ = Dial(testCtx(t), "ws://broken:x@"+rs.addr+"/", nil)
	if resp == nil || resp.StatusCode != 500 {
		t.Fatalf("Check error: %v", resp)
	}
	// Neither Credentials nor Check: a configuration error, 500.
	rs = startRecServer(t, false, nil, ServerOptions{ProcessRequest: (&BasicAuth{}).ProcessRequest})
	_, resp, _ = Dial(testCtx(t), "ws://a:b@"+rs.addr+"/", nil)
	if resp == nil || resp.StatusCode != 500 {
		t.Fatalf("unconfigured: %v", resp)
	}
}

func TestSetUsernameOutsideAHookDoesNothing(t *testing.T) {
	SetUsername(context.Background(), "nobody") // must not panic
	var slot string
	SetUsername(withUsernameSlot(context.Background(), &slot), "x")
	if slot != "x" {
		t.Fatal("slot not set")
	}
}

func TestChainProcessRequestStopsAtTheFirstAnswer(t *testing.T) {
	var calls []string
	hook := func(name string, resp *Response, err error) ProcessRequestFunc {
		return func(context.Context, *http.Request) (*Response, error) {
			calls = append(calls, name)
			return resp, err
		}
	}
	r, _ := http.NewRequest("GET", "/", nil)
	resp, err := ChainProcessRequest(hook("a", nil, nil), nil, hook("b", &Response{Status: 418}, nil), hook("c", nil, nil))(context.Background(), r)
	if err != nil || resp.Status != 418 || len(calls) != 2 {
		t.Fatalf("resp %v, err %v, calls %v", resp, err, calls)
	}
	boom := errors.New("boom")
	calls = nil
	if _, err := ChainProcessRequest(hook("a", nil, boom), hook("b", nil, nil))(context.Background(), r); err != boom || len(calls) != 1 {
		t.Fatalf("err %v, calls %v", err, calls)
	}
}
