package natsbroker_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/goleak"

	"github.com/tetherws/tether/runtime"
	"github.com/tetherws/tether/runtime/hub"
	"github.com/tetherws/tether/runtime/hub/internal/hubtest"
	"github.com/tetherws/tether/runtime/hub/natsbroker"
	"github.com/tetherws/tether/ws"
)

// nats.go's goroutines (reader, flusher, callback dispatchers) all return
// once each connection is closed: no goroutine is ignored.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const waitLimit = 10 * time.Second

// natsConn is a NATS connection that reconnects quickly and reports its
// disconnections and reconnections. It is closed when the test ends.
type natsConn struct {
	*nats.Conn
	disconnected, reconnected chan struct{}
}

func connectNATS(t *testing.T, url string) *natsConn {
	t.Helper()
	c := &natsConn{disconnected: make(chan struct{}, 8), reconnected: make(chan struct{}, 8)}
	nc, err := nats.Connect(url,
		nats.MaxReconnects(-1),
		nats.ReconnectWait(20*time.Millisecond),
		nats.ReconnectJitter(10*time.Millisecond, 10*time.Millisecond),
		nats.DisconnectErrHandler(func(*nats.Conn, error) { c.disconnected <- struct{}{} }),
		nats.ReconnectHandler(func(*nats.Conn) { c.reconnected <- struct{}{} }),
	)
	if err != nil {
		t.Fatalf("connect to NATS: %v", err)
	}
	c.Conn = nc
	t.Cleanup(nc.Close)
	return c
}

// await waits for an event on ch.
func await(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(waitLimit):
		t.Fatalf("no %s within %v", what, waitLimit)
	}
}

// instance is one server instance: a tether Server and its Hub on one
// NATS connection (see hubtest.Instance).
type instance struct {
	*hubtest.Instance
	Hub *hub.Hub
}

func startInstance(t *testing.T, b hub.Broker) *instance {
	t.Helper()
	h := hub.New(hub.Options{Broker: b})
	t.Cleanup(func() { _ = h.Close() })
	return &instance{Instance: hubtest.Start(t, h.Subscribe, nil, nil), Hub: h}
}

func (in *instance) join(t *testing.T, topics ...string) (client, server *runtime.Conn) {
	t.Helper()
	return in.Join(t, nil, topics...)
}

func expect(t *testing.T, c *runtime.Conn, want string) {
	t.Helper()
	hubtest.Expect(t, c, want)
}

func publish(t *testing.T, h *hub.Hub, topic, text string) {
	t.Helper()
	if err := h.Publish(context.Background(), topic, ws.OpText, []byte(text)); err != nil {
		t.Fatalf("Publish(%q, %q): %v", topic, text, err)
	}
}

// TestTwoInstancesShareTopicsThroughNATS runs two instances, each with
// its own tether server, Hub and NATS connection, as two processes behind
// a load balancer would.
func TestTwoInstancesShareTopicsThroughNATS(t *testing.T) {
	srv := startNATS(t)
	ncA, ncB := connectNATS(t, srv.URL), connectNATS(t, srv.URL)
	var brokers [2]*natsbroker.Broker
	for i, nc := range []*nats.Conn{ncA.Conn, ncB.Conn} {
		b, err := natsbroker.New(nc, &natsbroker.Options{Prefix: "test.hub."})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = b.Close() })
		brokers[i] = b
	}
	a, b := startInstance(t, brokers[0]), startInstance(t, brokers[1])
	ca, _ := a.join(t, "room")
	cb, sb := b.join(t, "room", "other")
	cb2, _ := b.join(t, "room")

	// A publish on A reaches the clients of A and B exactly once: a
	// second copy of "one" would come before "two".
	publish(t, a.Hub, "room", "one")
	publish(t, a.Hub, "room", "two")
	for _, c := range []*runtime.Conn{ca, cb, cb2} {
		expect(t, c, "one")
		expect(t, c, "two")
	}
	// NATS orders the messages of one publisher only: B publishes once
	// A's messages are in.
	publish(t, b.Hub, "room", "three")
	publish(t, b.Hub, "room", "four")
	for _, c := range []*runtime.Conn{ca, cb, cb2} {
		expect(t, c, "three")
		expect(t, c, "four")
	}
	if n := ncB.NumSubscriptions(); n != 2 {
		t.Errorf("instance B holds %d NATS subscriptions, want one per topic (2)", n)
	}

	// cb leaves room; cb2, on the same instance, stays.
	b.Hub.Unsubscribe(sb, "room")
	publish(t, a.Hub, "room", "five")
	expect(t, ca, "five")
	expect(t, cb2, "five") // B has fanned "five" out: cb would have it queued before...
	publish(t, a.Hub, "other", "six")
	expect(t, cb, "six") // ...this
	b.Hub.Unsubscribe(sb, "other")
	if n := ncB.NumSubscriptions(); n != 1 {
		t.Errorf("instance B holds %d NATS subscriptions after cb left, want 1", n)
	}

	// The NATS server restarts: both connections reconnect, nats.go
	// resubscribes, and delivery resumes.
	srv.restart(t)
	for _, nc := range []*natsConn{ncA, ncB} {
		await(t, nc.disconnected, "disconnection")
		await(t, nc.reconnected, "reconnection")
		// nats.go resent the subscriptions before reporting the
		// reconnection: after a round trip the server has them.
		if err := nc.FlushTimeout(waitLimit); err != nil {
			t.Fatalf("Flush after reconnecting: %v", err)
		}
	}
	publish(t, a.Hub, "room", "after restart")
	for _, c := range []*runtime.Conn{ca, cb2} {
		expect(t, c, "after restart")
	}
	publish(t, b.Hub, "room", "from b after restart")
	for _, c := range []*runtime.Conn{ca, cb2} {
		expect(t, c, "from b after restart")
	}
}

func TestConnectOwnsItsConnection(t *testing.T) {
	srv := startNATS(t)
	b, err := natsbroker.Connect(srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 4)
	unsub, err := b.Subscribe("a.b", func(msg []byte) { got <- string(msg) })
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := b.Publish(ctx, "a.b", []byte("hi")); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		if m != "hi" {
			t.Fatalf("delivered %q", m)
		}
	case <-time.After(waitLimit):
		t.Fatal("nothing delivered")
	}
	unsub()
	unsub() // again: nothing
	if n := b.Conn().NumSubscriptions(); n != 0 {
		t.Errorf("%d subscriptions after unsubscribe", n)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if !b.Conn().IsClosed() {
		t.Error("Close left Connect's connection open")
	}
	if err := b.Publish(ctx, "a.b", nil); !errors.Is(err, hub.ErrBrokerClosed) {
		t.Errorf("Publish after Close: %v", err)
	}
	if _, err := b.Subscribe("a.b", func([]byte) {}); !errors.Is(err, hub.ErrBrokerClosed) {
		t.Errorf("Subscribe after Close: %v", err)
	}
}

func TestNewLeavesTheCallersConnectionOpen(t *testing.T) {
	srv := startNATS(t)
	nc := connectNATS(t, srv.URL)
	b, err := natsbroker.New(nc.Conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Subscribe("x", func([]byte) {}); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if nc.IsClosed() || nc.NumSubscriptions() != 0 {
		t.Errorf("after Close: closed %v, %d subscriptions; want open, 0", nc.IsClosed(), nc.NumSubscriptions())
	}
}

func TestNewRefusesNoEcho(t *testing.T) {
	srv := startNATS(t)
	nc, err := nats.Connect(srv.URL, nats.NoEcho())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if _, err := natsbroker.New(nc, nil); err == nil {
		t.Fatal("New accepted a NoEcho connection")
	}
}

func TestConnectFailsWithoutServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	_, err = natsbroker.Connect("nats://user:secret@"+addr, nil, nats.Timeout(time.Second))
	if !errors.Is(err, nats.ErrNoServers) {
		t.Fatalf("Connect = %v, want an error matching nats.ErrNoServers", err)
	}
	if strings.Contains(err.Error(), "secret") {
		t.Errorf("the error shows the password: %v", err)
	}
}

func TestSubjectMapping(t *testing.T) {
	srv := startNATS(t)
	nc := connectNATS(t, srv.URL)
	b, err := natsbroker.New(nc.Conn, &natsbroker.Options{Prefix: "chat.prod."})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if s, err := b.Subject("room.42"); err != nil || s != "chat.prod.room.42" {
		t.Errorf("Subject = %q, %v", s, err)
	}
	if tp, ok := b.Topic("chat.prod.room.42"); !ok || tp != "room.42" {
		t.Errorf("Topic = %q, %v", tp, ok)
	}
	for _, subj := range []string{"other.room", "chat.prod.", "chat.prod.a.*"} {
		if tp, ok := b.Topic(subj); ok {
			t.Errorf("Topic(%q) = %q, want none", subj, tp)
		}
	}
	if _, err := b.Subscribe("a.>", func([]byte) {}); !errors.Is(err, natsbroker.ErrInvalidTopic) {
		t.Errorf("Subscribe to a wildcard: %v", err)
	}
	if err := b.Publish(context.Background(), "a b", nil); !errors.Is(err, hub.ErrInvalidTopic) {
		t.Errorf("Publish to a topic with a space: %v", err)
	}
}

func TestPrefixMustBeTokensEndingWithADot(t *testing.T) {
	for _, p := range []string{"tether", "a..", ".", "a.*.", "a b."} {
		if _, err := natsbroker.New(nil, &natsbroker.Options{Prefix: p}); err == nil || !strings.Contains(err.Error(), "prefix") {
			t.Errorf("prefix %q: %v, want refused", p, err)
		}
	}
}

func TestValidTopic(t *testing.T) {
	for _, tc := range []struct {
		topic string
		ok    bool
	}{
		{"room", true},
		{"room.42", true},
		{"café", true},
		{"a-b_c", true},
		{"", false},
		{".", false},
		{"a..b", false},
		{"a.", false},
		{".a", false},
		{"*", false},
		{"a.>", false},
		{"a*b", false},
		{"a b", false},
		{"a\tb", false},
		{"a\nb", false},
		{"a\x00b", false},
		{"\xff", false},
		{strings.Repeat("x", natsbroker.MaxTopicLen), true},
		{strings.Repeat("x", natsbroker.MaxTopicLen+1), false},
	} {
		err := natsbroker.ValidTopic(tc.topic)
		if (err == nil) != tc.ok {
			t.Errorf("ValidTopic(%q) = %v, want ok=%v", tc.topic, err, tc.ok)
		}
		if err != nil && !errors.Is(err, hub.ErrInvalidTopic) {
			t.Errorf("ValidTopic(%q) = %v, does not match hub.ErrInvalidTopic", tc.topic, err)
		}
	}
}
