package main

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// startHub runs a hub until the test ends.
func startHub(t *testing.T, queueSize int) *Hub {
	t.Helper()
	h := NewHub(queueSize)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); h.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return h
}

func join(t *testing.T, h *Hub, name string) *Client {
	t.Helper()
	c, err := h.Join(context.Background(), name)
	if err != nil {
		t.Fatalf("Join(%q): %v", name, err)
	}
	return c
}

// next returns the next event queued for c.
func next(t *testing.T, c *Client) Event {
	t.Helper()
	select {
	case b := <-c.Queue():
		var ev Event
		if err := json.Unmarshal(b, &ev); err != nil {
			t.Fatalf("%s got bad JSON %q: %v", c.Name(), b, err)
		}
		return ev
	case <-time.After(5 * time.Second):
		t.Fatalf("%s got no event within 5s", c.Name())
	}
	return Event{}
}

func expect(t *testing.T, c *Client, want Event) {
	t.Helper()
	got := next(t, c)
	if got.Type != want.Type || got.Name != want.Name || got.Text != want.Text || got.Reason != want.Reason ||
		(want.Users != nil && !slices.Equal(got.Users, want.Users)) {
		t.Fatalf("%s got %+v, want %+v", c.Name(), got, want)
	}
}

func TestHubFansOutToEveryClient(t *testing.T) {
	h := startHub(t, 8)
	alice := join(t, h, "alice")
	expect(t, alice, Event{Type: "join", Name: "alice", Users: []string{"alice"}})
	bob := join(t, h, "bob")
	expect(t, alice, Event{Type: "join", Name: "bob", Users: []string{"alice", "bob"}})
	expect(t, bob, Event{Type: "join", Name: "bob", Users: []string{"alice", "bob"}})

	if err := h.Say(alice, "hello"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*Client{alice, bob} {
		expect(t, c, Event{Type: "message", Name: "alice", Text: "hello"})
	}

	h.Leave(bob)
	expect(t, alice, Event{Type: "leave", Name: "bob", Users: []string{"alice"}})
	<-bob.Context().Done()
	if err := h.Say(bob, "still here?"); err == nil {
		t.Fatal("Say after Leave succeeded")
	}
	h.Leave(bob) // leaving twice does nothing
	if err := h.Say(alice, "alone"); err != nil {
		t.Fatal(err)
	}
	expect(t, alice, Event{Type: "message", Name: "alice", Text: "alone"})
}

func TestHubKeepsMessageOrderPerSender(t *testing.T) {
	h := startHub(t, 64)
	alice := join(t, h, "alice")
	bob := join(t, h, "bob")
	next(t, alice)
	next(t, alice)
	next(t, bob)
	texts := []string{"one", "two", "three", "four"}
	for _, s := range texts {
		if err := h.Say(alice, s); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range texts {
		expect(t, bob, Event{Type: "message", Name: "alice", Text: s})
	}
}

func TestHubDropsClientWhoseQueueIsFull(t *testing.T) {
	const size = 4
	h := startHub(t, size)
	slow := join(t, h, "slow") // never reads its queue
	fast := join(t, h, "fast")
	expect(t, fast, Event{Type: "join", Name: "fast"})
	// slow's queue now holds its own join and fast's: size-2 more fill it.
	for range size - 2 {
		if err := h.Say(fast, "fill"); err != nil {
			t.Fatal(err)
		}
		expect(t, fast, Event{Type: "message", Name: "fast", Text: "fill"})
	}
	select {
	case <-slow.Context().Done():
		t.Fatal("slow client dropped before its queue was full")
	default:
	}
	// The next event does not fit: slow is dropped, fast is not held up.
	if err := h.Say(fast, "overflow"); err != nil {
		t.Fatal(err)
	}
	expect(t, fast, Event{Type: "message", Name: "fast", Text: "overflow"})
	expect(t, fast, Event{Type: "leave", Name: "slow", Reason: ErrTooSlow.Error(), Users: []string{"fast"}})
	<-slow.Context().Done()
	if cause := context.Cause(slow.Context()); !errors.Is(cause, ErrTooSlow) {
		t.Fatalf("slow client's cause = %v, want ErrTooSlow", cause)
	}
	if len(slow.Queue()) != size {
		t.Fatalf("slow queue holds %d events, want %d", len(slow.Queue()), size)
	}
	if err := h.Say(slow, "late"); !errors.Is(err, ErrTooSlow) {
		t.Fatalf("Say from a dropped client = %v, want ErrTooSlow", err)
	}
	h.Leave(slow) // the connection's handler still calls Leave: a no-op
	if err := h.Say(fast, "after"); err != nil {
		t.Fatal(err)
	}
	expect(t, fast, Event{Type: "message", Name: "fast", Text: "after"})
}

func TestHubLeaveNoticesFollowTheSlowClientRule(t *testing.T) {
	h := startHub(t, 1)
	a := join(t, h, "a") // a's queue: [join a], full
	b := join(t, h, "b") // join b: a is dropped, b's queue: [join b], full;
	// then the notice that a left does not fit in b's queue: b is dropped.
	for _, c := range []*Client{a, b} {
		<-c.Context().Done()
		if cause := context.Cause(c.Context()); !errors.Is(cause, ErrTooSlow) {
			t.Fatalf("%s: cause %v, want ErrTooSlow", c.Name(), cause)
		}
	}
	expect(t, b, Event{Type: "join", Name: "b", Users: []string{"a", "b"}})
	c := join(t, h, "c") // the room is empty again
	expect(t, c, Event{Type: "join", Name: "c", Users: []string{"c"}})
}

func TestHubStopEndsClientsAndCalls(t *testing.T) {
	h := NewHub(4)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); h.Run(ctx) }()
	c := join(t, h, "alice")
	cancel()
	<-done
	<-c.Context().Done()
	if !errors.Is(context.Cause(c.Context()), ErrHubClosed) {
		t.Fatalf("cause %v, want ErrHubClosed", context.Cause(c.Context()))
	}
	if _, err := h.Join(context.Background(), "bob"); !errors.Is(err, ErrHubClosed) {
		t.Fatalf("Join after stop: %v", err)
	}
	if err := h.Say(c, "x"); err == nil {
		t.Fatal("Say after stop succeeded")
	}
	h.Leave(c) // must not block
}

func TestCleanNameAndText(t *testing.T) {
	for _, tc := range []struct{ in, name, text string }{
		{"  alice  ", "alice", "alice"},
		{"", "anonymous", ""},
		{"a\x00b\x1bc", "abc", "abc"},
		{"two   words\n", "two words", "two   words"},
		{"line one\nline two", "line one line two", "line one\nline two"},
		{"ééééééééééééééééééééééééééé", "éééééééééééééééééééééééé", "ééééééééééééééééééééééééééé"},
	} {
		if got := cleanName(tc.in); got != tc.name {
			t.Errorf("cleanName(%q) = %q, want %q", tc.in, got, tc.name)
		}
		if got := cleanText(tc.in); got != tc.text {
			t.Errorf("cleanText(%q) = %q, want %q", tc.in, got, tc.text)
		}
	}
}
