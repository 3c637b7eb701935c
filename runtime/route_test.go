package runtime

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tetherws/tether/ws"
)

// newTestRouter routes /chat/{room} and GET /feed/{path...}, each handler
// sending back what it got.
func newTestRouter() *Router {
	var rt Router
	rt.Handle("/chat/{room}", func(ctx context.Context, c *Conn) error {
		return c.SendText(ctx, "chat:"+c.Request().PathValue("room"))
	})
	rt.Handle("GET /feed/{path...}", func(ctx context.Context, c *Conn) error {
		return c.SendText(ctx, "feed:"+c.Request().PathValue("path"))
	})
	rt.Handle("/static/", func(ctx context.Context, c *Conn) error {
		return c.SendText(ctx, "static:"+c.Request().URL.Path)
	})
	return &rt
}

func TestRouterDispatchesByPatternWithPathValues(t *testing.T) {
	rt := newTestRouter()
	u := startServer(t, &Server{Handler: rt.Serve, Options: ServerOptions{ProcessRequest: rt.ProcessRequest}})
	for path, want := range map[string]string{
		"chat/lobby":     "chat:lobby",
		"chat/caf%C3%A9": "chat:café",
		"feed/a/b/c":     "feed:a/b/c",
		"static/x.css":   "static:/static/x.css",
		"static":         "static:/static/", // ServeMux's 301 to /static/, followed
	} {
		c := dial(t, u+path, nil)
		if got := recv(t, c).Text(); got != want {
			t.Errorf("%s: got %q, want %q", path, got, want)
		}
	}
}

func TestRouterAnswersUnknownPathsWith404BeforeTheHandshake(t *testing.T) {
	rt := newTestRouter()
	u := startServer(t, &Server{Handler: rt.Serve, Options: ServerOptions{ProcessRequest: rt.ProcessRequest}})
	for _, path := range []string{"", "nope", "chat/a/b", "chat/"} {
		_, resp, err := Dial(testCtx(t), u+path, nil)
		var se *ws.StatusError
		if !errors.As(err, &se) || resp.StatusCode != http.StatusNotFound || string(se.Body) != "Not Found\n" {
			t.Errorf("/%s: err %v, body %q", path, err, bodyOf(se))
		}
	}
}

func TestRouterServeWithoutProcessRequestFailsUnknownPaths(t *testing.T) {
	rt := newTestRouter()
	u := startServer(t, &Server{Handler: rt.Serve})
	c := dial(t, u+"nope", nil)
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("connection not closed")
	}
	var ce *ws.CloseError
	if !errors.As(c.Err(), &ce) || ce.Code() != ws.CloseInternalError {
		t.Fatalf("Err = %v, want a 1011 close", c.Err())
	}
}

func TestServeMuxPatternsRouteToServersOnNetHTTP(t *testing.T) {
	chat := &Server{Handler: func(ctx context.Context, c *Conn) error {
		return c.SendText(ctx, "room "+c.Request().PathValue("room"))
	}}
	mux := http.NewServeMux()
	mux.Handle("GET /rooms/{room}", chat)
	hs := httptest.NewServer(mux)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = chat.Shutdown(ctx)
		hs.Close()
	})
	u := "ws://" + strings.TrimPrefix(hs.URL, "http://")
	c := dial(t, u+"/rooms/go", nil)
	if got := recv(t, c).Text(); got != "room go" {
		t.Fatalf("got %q", got)
	}
	if _, resp, _ := Dial(testCtx(t), u+"/elsewhere", nil); resp == nil || resp.StatusCode != 404 {
		t.Fatalf("unknown path: %v", resp)
	}
}
