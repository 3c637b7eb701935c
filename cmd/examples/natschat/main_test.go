package main

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/tetherws/tether/runtime"
	"github.com/tetherws/tether/runtime/hub"
	"github.com/tetherws/tether/ws"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// startInstance runs one chat instance on a free port with broker, and
// returns its rooms' base URL. It stops when the test ends.
func startInstance(t *testing.T, broker hub.Broker) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	errc := make(chan error, 1)
	go func() { errc <- run(ctx, "127.0.0.1:0", broker, slog.New(slog.DiscardHandler), ready) }()
	select {
	case base := <-ready:
		t.Cleanup(func() {
			cancel()
			if err := <-errc; err != nil {
				t.Errorf("run: %v", err)
			}
		})
		return base
	case err := <-errc:
		cancel()
		t.Fatalf("run: %v", err)
	}
	return ""
}

func join(t *testing.T, base, room, name string) *runtime.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := runtime.Dial(ctx, base+room+"?name="+url.QueryEscape(name), nil)
	if err != nil {
		t.Fatalf("join %s as %s: %v", room, name, err)
	}
	t.Cleanup(c.CloseNow)
	return c
}

func hear(t *testing.T, c *runtime.Conn, want string) {
	t.Helper()
	select {
	case m, ok := <-c.Messages():
		if !ok {
			t.Fatalf("connection ended waiting for %q: %v", want, c.Err())
		}
		if got := m.Text(); got != want {
			t.Fatalf("heard %q, want %q", got, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("did not hear %q within 5s", want)
	}
}

// TestTwoInstancesShareARoom runs two instances on one MemoryBroker, which
// stands for the NATS server of a real deployment (runtime/hub/natsbroker
// has the tests against a real one).
func TestTwoInstancesShareARoom(t *testing.T) {
	broker := hub.NewMemoryBroker()
	base1, base2 := startInstance(t, broker), startInstance(t, broker)
	inst2 := strings.TrimSuffix(strings.TrimPrefix(base2, "ws://"), "/chat/")

	ann := join(t, base1, "lobby", "ann")
	hear(t, ann, "* ann joined on "+strings.TrimSuffix(strings.TrimPrefix(base1, "ws://"), "/chat/"))
	bob := join(t, base2, "lobby", "bob")
	hear(t, bob, "* bob joined on "+inst2)
	hear(t, ann, "* bob joined on "+inst2)
	carl := join(t, base2, "kitchen", "carl")
	hear(t, carl, "* carl joined on "+inst2)

	ctx := context.Background()
	if err := ann.SendText(ctx, "  hello\x07 bob  "); err != nil {
		t.Fatal(err)
	}
	hear(t, ann, "ann: hello bob")
	hear(t, bob, "ann: hello bob")
	if err := bob.SendText(ctx, "hi ann"); err != nil {
		t.Fatal(err)
	}
	hear(t, ann, "bob: hi ann")
	hear(t, bob, "bob: hi ann")

	if err := bob.Close(ws.CloseNormal, ""); err != nil {
		t.Fatal(err)
	}
	hear(t, ann, "* bob left")
	// carl, in another room, heard none of it.
	if err := carl.SendText(ctx, "anyone?"); err != nil {
		t.Fatal(err)
	}
	hear(t, carl, "carl: anyone?")
}

func TestBadRoomNamesAreRefused(t *testing.T) {
	base := startInstance(t, hub.NewMemoryBroker())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for path, status := range map[string]int{
		"a.b":                   400,
		strings.Repeat("x", 65): 400,
		"%E2%9C%93":             400,
		"lobby/extra":           404,
	} {
		_, _, err := runtime.Dial(ctx, base+path, nil)
		var se *ws.StatusError
		if !errors.As(err, &se) || se.StatusCode() != status {
			t.Errorf("room %q: %v, want HTTP %d", path, err, status)
		}
	}
}

func TestCleanName(t *testing.T) {
	for in, want := range map[string]string{
		"":                      "anonymous",
		"  ann  ":               "ann",
		"a\x00n\tn":             "an n",
		strings.Repeat("é", 30): strings.Repeat("é", maxName),
	} {
		if got := cleanName(in); got != want {
			t.Errorf("cleanName(%q) = %q, want %q", in, got, want)
		}
	}
}
