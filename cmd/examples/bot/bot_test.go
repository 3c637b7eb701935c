package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/tetherws/tether"
	"github.com/tetherws/tether/reconnect"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// lines is an io.Writer that hands each written line to the test.
type lines chan string

func (l lines) Write(p []byte) (int, error) {
	for _, s := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		l <- s
	}
	return len(p), nil
}

// expect reads the bot's output until it has seen a line containing each
// of wants, in any order (events and messages are printed by different
// goroutines).
func (l lines) expect(t *testing.T, wants ...string) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for len(wants) > 0 {
		select {
		case s := <-l:
			t.Log(s)
			for i, w := range wants {
				if strings.Contains(s, w) {
					wants = append(wants[:i], wants[i+1:]...)
					break
				}
			}
		case <-timeout:
			t.Fatalf("no %q in the output within 10s", wants)
		}
	}
}

// feed is an in-process feed server that the test can kill and restart
// on the same address. After "subscribe <topic>" it sends the server side
// of the connection on subs; the test sends the feed itself.
type feed struct {
	t      *testing.T
	addr   string
	status int // answer handshakes with this status instead, if not 0
	subs   chan *tether.Conn

	mu     sync.Mutex
	ln     net.Listener
	srv    *tether.Server
	served chan error
}

func newFeed(t *testing.T) *feed {
	f := &feed{t: t, addr: "127.0.0.1:0", subs: make(chan *tether.Conn, 10)}
	f.start()
	t.Cleanup(func() { f.kill() })
	return f
}

func (f *feed) url() string { return "ws://" + f.addr + "/" }

func (f *feed) start() {
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		f.t.Fatal(err)
	}
	f.addr = ln.Addr().String()
	srv := &tether.Server{Handler: func(ctx context.Context, c *tether.Conn) error {
		for m := range c.Messages() {
			if topic, ok := strings.CutPrefix(m.Text(), "subscribe "); ok {
				if err := c.SendText(ctx, "subscribed "+topic); err != nil {
					return err
				}
				f.subs <- c
			}
		}
		return nil
	}}
	if f.status != 0 {
		srv.Options.ProcessRequest = func(context.Context, *http.Request) (*tether.Response, error) {
			return &tether.Response{Status: f.status}, nil
		}
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	f.mu.Lock()
	f.ln, f.srv, f.served = ln, srv, served
	f.mu.Unlock()
}

// kill aborts every connection, as a crash would, and stops listening.
func (f *feed) kill() {
	f.mu.Lock()
	ln, srv, served := f.ln, f.srv, f.served
	f.srv = nil
	f.mu.Unlock()
	if srv == nil {
		return
	}
	ln.Close() // first, so that the bot cannot reconnect meanwhile
	for _, c := range srv.Connections() {
		c.CloseNow()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		f.t.Error(err)
	}
	<-served // the listener's error
}

func startBot(t *testing.T, url string) (out lines, stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	out = make(lines, 1000)
	errc := make(chan error, 1)
	cfg := config{url: url, topic: "ticks", backoff: reconnect.Constant(5 * time.Millisecond)}
	go func() { errc <- run(ctx, cfg, out) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			err = <-errc
		})
		return err
	}
	t.Cleanup(func() { stop() })
	return out, stop
}

// TestBotKeepsReceivingAcrossServerRestarts kills the server three times
// mid-stream: each time the bot reconnects, resubscribes and keeps
// printing the feed, including what it received just before the crash.
func TestBotKeepsReceivingAcrossServerRestarts(t *testing.T) {
	f := newFeed(t)
	out, stop := startBot(t, f.url())
	ctx := context.Background()
	for round := range 4 {
		out.expect(t, `subscribed to "ticks"`, "connected to "+f.addr)
		sc := <-f.subs
		ticks := []string{"ticks #" + string(rune('a'+round)) + "1", "ticks #" + string(rune('a'+round)) + "2"}
		for _, tick := range ticks {
			if err := sc.SendText(ctx, tick); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := sc.Ping(ctx, nil); err != nil { // the bot has read them
			t.Fatal(err)
		}
		if round < 3 {
			f.kill()
		}
		wants := []string{`received "` + ticks[0] + `"`, `received "` + ticks[1] + `"`}
		if round < 3 {
			wants = append(wants, "disconnected: no close frame received or sent", "retrying in 5ms")
		}
		out.expect(t, wants...)
		if round < 3 {
			f.start()
		}
	}
	if err := stop(); err != nil {
		t.Fatalf("run = %v", err)
	}
	out.expect(t, "disconnected: sent 1000 (OK); then received 1000 (OK)", "stopped")
}

func TestBotStopsOnAFatalError(t *testing.T) {
	f := &feed{t: t, addr: "127.0.0.1:0", status: http.StatusUnauthorized, subs: make(chan *tether.Conn, 1)}
	f.start()
	t.Cleanup(f.kill)
	out, stop := startBot(t, f.url())
	out.expect(t, "stopped: reconnect: giving up on "+f.url()+": ws: server rejected WebSocket connection: HTTP 401")
	err := stop()
	var se *tether.StatusError
	if !errors.As(err, &se) || se.StatusCode() != http.StatusUnauthorized {
		t.Fatalf("run = %v", err)
	}
}
