package runtime

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/tetherws/tether/ws"
)

// logBuffer collects a logger's text output.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// A hook that answers with a status no HTTP/1.1 head may carry, or with a
// header that would split the head, gets a 500 instead and an error in the
// log; a 101 from ProcessRequest does not open a connection that nothing
// was negotiated for.
func TestHookResponsesAreCheckedBeforeTheyAreWritten(t *testing.T) {
	for _, tt := range []struct {
		name    string
		opts    ServerOptions
		logWant string
	}{
		{"ProcessResponse status 1000", ServerOptions{ProcessResponse: func(_ context.Context, _ *http.Request, resp *Response) (*Response, error) {
			return &Response{Status: 1000}, nil
		}}, "status 1000"},
		{"ProcessResponse status 99", ServerOptions{ProcessResponse: func(_ context.Context, _ *http.Request, resp *Response) (*Response, error) {
			resp.Status = 99
			return nil, nil
		}}, "status 99"},
		{"ProcessRequest status 101", ServerOptions{ProcessRequest: func(context.Context, *http.Request) (*Response, error) {
			return &Response{Status: http.StatusSwitchingProtocols}, nil
		}}, "status 101"},
		{"ProcessRequest status 103", ServerOptions{ProcessRequest: func(context.Context, *http.Request) (*Response, error) {
			return &Response{Status: http.StatusEarlyHints}, nil
		}}, "status 103"},
		{"ProcessResponse header with CR LF", ServerOptions{ProcessResponse: func(_ context.Context, _ *http.Request, resp *Response) (*Response, error) {
			resp.Header.Set("X-Session", "1\r\nSet-Cookie: stolen=1")
			return nil, nil
		}}, "X-Session"},
		{"ProcessRequest header name with a space", ServerOptions{ProcessRequest: func(context.Context, *http.Request) (*Response, error) {
			return &Response{Status: http.StatusForbidden, Header: http.Header{"Bad Name": {"x"}}}, nil
		}}, "Bad Name"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var logs logBuffer
			tt.opts.Logger = logs.logger()
			url := startServer(t, &Server{Handler: echoHandler, Options: tt.opts})
			_, resp, err := Dial(testCtx(t), url, nil)
			if !errors.Is(err, ws.ErrInvalidStatus) || resp == nil || resp.StatusCode != http.StatusInternalServerError {
				t.Fatalf("Dial = %v (response %v), want a 500", err, resp)
			}
			if h := resp.Header.Get("Set-Cookie"); h != "" {
				t.Fatalf("the hook's header went out: Set-Cookie %q", h)
			}
			out := logs.String()
			if !strings.Contains(out, "level=ERROR") || !strings.Contains(out, "invalid response from a hook") || !strings.Contains(out, tt.logWant) {
				t.Fatalf("log does not report the hook's response (%q):\n%s", tt.logWant, out)
			}
		})
	}
}

// A hook may still turn the 101 into a rejection and change its headers.
func TestHookMayRejectAfterTheHandshakePassed(t *testing.T) {
	url := startServer(t, &Server{Handler: echoHandler, Options: ServerOptions{
		ProcessResponse: func(_ context.Context, _ *http.Request, resp *Response) (*Response, error) {
			return &Response{Status: http.StatusTeapot, Body: []byte("no\n")}, nil
		},
	}})
	_, resp, err := Dial(testCtx(t), url, nil)
	if !errors.Is(err, ws.ErrInvalidStatus) || resp == nil || resp.StatusCode != http.StatusTeapot {
		t.Fatalf("Dial = %v (response %v), want a 418", err, resp)
	}
}

// A Server header with CR or LF would break every handshake: Serve refuses
// to start, and Accept answers 500 with the reason in the log.
func TestServerHeaderWithCRLFIsRefusedUpFront(t *testing.T) {
	bad := ServerOptions{ServerHeader: "tether\r\nX-Injected: 1"}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Handler: echoHandler, Options: bad}
	if err := s.Serve(ln); !errors.Is(err, ws.ErrInvalidHeader) || !strings.Contains(err.Error(), "ServerHeader") {
		t.Fatalf("Serve = %v, want an error naming ServerHeader", err)
	}
	if _, err := ln.Accept(); err == nil {
		t.Fatal("Serve left the listener open")
	}

	var logs logBuffer
	bad.Logger = logs.logger()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	if _, err := Accept(rec, req, &bad); !errors.Is(err, ws.ErrInvalidHeader) {
		t.Fatalf("Accept = %v, want ws.ErrInvalidHeader", err)
	}
	if rec.Code != http.StatusInternalServerError || rec.Header().Get("X-Injected") != "" {
		t.Fatalf("Accept answered %d with %v", rec.Code, rec.Header())
	}
	if out := logs.String(); !strings.Contains(out, "level=ERROR") || !strings.Contains(out, "ServerHeader") {
		t.Fatalf("log:\n%s", out)
	}
}
