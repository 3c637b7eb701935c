package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tetherws/tether"
)

// startChat runs the chat server on a free port. stop shuts it down and
// returns what run returned; it also runs when the test ends.
func startChat(t *testing.T) (base string, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	errc := make(chan error, 1)
	go func() { errc <- run(ctx, "127.0.0.1:0", slog.New(slog.DiscardHandler), ready) }()
	select {
	case base = <-ready:
	case err := <-errc:
		cancel()
		t.Fatalf("run: %v", err)
	}
	var err error
	stopped := false
	stop = func() error {
		if !stopped {
			stopped = true
			cancel()
			err = <-errc
		}
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return base, stop
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// wsURL returns the WebSocket URL of the chat for nickname name.
func wsURL(base, name string) string {
	return "ws" + strings.TrimPrefix(base, "http") + "ws?name=" + url.QueryEscape(name)
}

// dialChat joins the chat as name, from the page's origin as a browser
// would.
func dialChat(t *testing.T, base, name string) *tether.Conn {
	t.Helper()
	c, _, err := tether.Dial(testCtx(t), wsURL(base, name), &tether.DialOptions{Origin: strings.TrimSuffix(base, "/")})
	if err != nil {
		t.Fatalf("Dial as %s: %v", name, err)
	}
	t.Cleanup(c.CloseNow)
	return c
}

// recvAny returns the next event c receives.
func recvAny(t *testing.T, c *tether.Conn) Event {
	t.Helper()
	select {
	case m, ok := <-c.Messages():
		if !ok {
			t.Fatalf("connection ended: %v", c.Err())
		}
		var ev Event
		if err := json.Unmarshal(m.Data, &ev); err != nil {
			t.Fatalf("bad event %q: %v", m.Data, err)
		}
		m.Release()
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5s")
	}
	return Event{}
}

// recvEvent returns the next event of type want that c receives, skipping
// others.
func recvEvent(t *testing.T, c *tether.Conn, want string) Event {
	t.Helper()
	for {
		if ev := recvAny(t, c); ev.Type == want {
			return ev
		}
	}
}

func TestServesThePage(t *testing.T) {
	base, _ := startChat(t)
	resp, err := http.Get(base)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET / = %s, %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{"<title>tether chat</title>", `id="nick"`, `id="msg"`, `new WebSocket(`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("page lacks %s", want)
		}
	}
	resp, err = http.Get(base + "nope")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /nope = %s, want 404", resp.Status)
	}
}

func TestChatBetweenTwoClients(t *testing.T) {
	base, _ := startChat(t)
	alice := dialChat(t, base, "alice")
	if ev := recvEvent(t, alice, "join"); ev.Name != "alice" || len(ev.Users) != 1 {
		t.Fatalf("alice's own join: %+v", ev)
	}
	bob := dialChat(t, base, " bob\x07 ")
	if ev := recvEvent(t, alice, "join"); ev.Name != "bob" || strings.Join(ev.Users, ",") != "alice,bob" {
		t.Fatalf("alice saw %+v, want bob joining", ev)
	}
	recvEvent(t, bob, "join")

	ctx := testCtx(t)
	if err := alice.SendText(ctx, "  hello bob  "); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*tether.Conn{bob, alice} {
		if ev := recvEvent(t, c, "message"); ev.Name != "alice" || ev.Text != "hello bob" {
			t.Fatalf("got %+v, want alice's message", ev)
		}
	}

	if err := bob.Close(tether.CloseNormal, "bye"); err != nil {
		t.Fatal(err)
	}
	if err := bob.Err(); err != nil {
		t.Fatalf("bob's close: %v", err)
	}
	if ev := recvEvent(t, alice, "leave"); ev.Name != "bob" || strings.Join(ev.Users, ",") != "alice" {
		t.Fatalf("alice saw %+v, want bob leaving", ev)
	}
}

func TestRejectsOtherOrigins(t *testing.T) {
	base, _ := startChat(t)
	for _, origin := range []string{"http://evil.example", "https" + strings.TrimSuffix(strings.TrimPrefix(base, "http"), "/"), "null"} {
		_, _, err := tether.Dial(testCtx(t), wsURL(base, "mallory"), &tether.DialOptions{Origin: origin})
		var se *tether.StatusError
		if !errors.As(err, &se) || se.StatusCode() != http.StatusForbidden {
			t.Errorf("Origin %s: err = %v, want 403", origin, err)
		}
	}
	// Without Origin (not a browser) the handshake is accepted.
	c, _, err := tether.Dial(testCtx(t), wsURL(base, "cli"), nil)
	if err != nil {
		t.Fatalf("Dial without Origin: %v", err)
	}
	c.CloseNow()
}

func TestShutdownClosesClientsWithGoingAway(t *testing.T) {
	base, stop := startChat(t)
	alice := dialChat(t, base, "alice")
	recvEvent(t, alice, "join")
	if err := stop(); err != nil {
		t.Fatalf("run returned %v", err)
	}
	for range alice.Messages() {
	}
	if err := alice.Err(); err != nil {
		t.Fatalf("Err after shutdown = %v, want nil (clean 1001)", err)
	}
	st := alice.CloseStatus()
	if st.Rcvd == nil || st.Rcvd.Code != tether.CloseGoingAway {
		t.Fatalf("received close %v, want 1001", st.Rcvd)
	}
}

func TestClosesSlowClientWith1008(t *testing.T) {
	base, _ := startChat(t)
	ctx := testCtx(t)
	// slow never reads: its Messages buffer (MaxQueue 1), the socket
	// buffers and then its hub queue fill up until the hub drops it.
	// It declines compression, which would shrink the repetitive test
	// messages to a few bytes and take ages to fill the buffers.
	slow, _, err := tether.Dial(ctx, wsURL(base, "slow"), &tether.DialOptions{Options: tether.Options{MaxQueue: 1, DisableCompression: true}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(slow.CloseNow)
	fast := dialChat(t, base, "fast")
	text := strings.Repeat("𝄞", maxText) // 4 bytes a rune: 4000-byte messages
	for dropped, n := false, 0; !dropped; n++ {
		if n == 100000 {
			t.Fatal("slow client never dropped")
		}
		if err := fast.SendText(ctx, text); err != nil {
			t.Fatal(err)
		}
		// Read up to fast's own message; the notice that slow was
		// dropped comes right after one of them.
		for ev := recvAny(t, fast); ev.Type != "message"; ev = recvAny(t, fast) {
			if ev.Type == "leave" && ev.Name == "slow" {
				if ev.Reason != ErrTooSlow.Error() {
					t.Fatalf("leave reason %q", ev.Reason)
				}
				dropped = true
			}
		}
	}
	// Now slow reads: after the backlog comes the 1008 close frame.
	for m := range slow.Messages() {
		m.Release()
	}
	st := slow.CloseStatus()
	if st.Rcvd == nil || st.Rcvd.Code != tether.ClosePolicyViolation || st.Rcvd.Reason != ErrTooSlow.Error() {
		t.Fatalf("slow received close %v, want 1008 %q", st.Rcvd, ErrTooSlow)
	}
	if !errors.Is(slow.Err(), tether.ErrClosed) {
		t.Fatalf("slow.Err() = %v", slow.Err())
	}
}
