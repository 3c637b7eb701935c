package hub

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/tetherws/tether/runtime"
	"github.com/tetherws/tether/ws"
)

func TestPublishReachesEverySubscriberOnce(t *testing.T) {
	for _, tc := range []struct {
		name   string
		broker Broker
	}{
		{"local", nil},
		{"memory broker", NewMemoryBroker()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := startInstance(t, Options{Broker: tc.broker}, nil, nil)
			var clients []*runtime.Conn
			for range 3 {
				c, _ := in.join(t, nil, "room")
				clients = append(clients, c)
			}
			publish(t, in.Hub, "room", "one")
			publish(t, in.Hub, "room", "two")
			for _, c := range clients {
				// A second copy of "one" would come before "two".
				expect(t, c, "one")
				expect(t, c, "two")
			}
			st := in.Hub.Stats()
			if st.Published != 2 || st.Fanouts != 2 || st.Delivered != 6 {
				t.Errorf("Stats = %+v, want 2 published, 2 fan-outs, 6 delivered", st)
			}
		})
	}
}

func TestBinaryMessagesKeepTheirType(t *testing.T) {
	in := startInstance(t, Options{Broker: NewMemoryBroker()}, nil, nil)
	c, _ := in.join(t, nil, "bin")
	data := []byte{0, 1, 2, 0xff}
	if err := in.Hub.Publish(context.Background(), "bin", ws.OpBinary, data); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-c.Messages():
		if m.Type != ws.OpBinary || !bytes.Equal(m.Data, data) {
			t.Fatalf("received %v %x, want binary %x", m.Type, m.Data, data)
		}
	case <-time.After(waitLimit):
		t.Fatal("no message")
	}
}

func TestTopicsAreSeparate(t *testing.T) {
	in := startInstance(t, Options{Broker: NewMemoryBroker()}, nil, nil)
	a, _ := in.join(t, nil, "a")
	b, _ := in.join(t, nil, "b")
	ab, _ := in.join(t, nil, "a", "b")
	publish(t, in.Hub, "a", "to a")
	publish(t, in.Hub, "b", "to b")
	publish(t, in.Hub, "nobody", "to nobody")
	publish(t, in.Hub, "a", "end a")
	publish(t, in.Hub, "b", "end b")
	expect(t, a, "to a")
	expect(t, a, "end a")
	expect(t, b, "to b")
	expect(t, b, "end b")
	for _, want := range []string{"to a", "to b", "end a", "end b"} {
		expect(t, ab, want)
	}
	if n := in.Hub.Subscribers("a"); n != 2 {
		t.Errorf("Subscribers(a) = %d, want 2", n)
	}
}

func TestSubscribeTwiceDeliversOnce(t *testing.T) {
	in := startInstance(t, Options{Broker: NewMemoryBroker()}, nil, nil)
	c, sc := in.join(t, nil, "room", "room")
	if err := in.Hub.Subscribe(sc, "room"); err != nil {
		t.Fatal(err)
	}
	publish(t, in.Hub, "room", "one")
	publish(t, in.Hub, "room", "two")
	expect(t, c, "one")
	expect(t, c, "two")
}

func TestUnsubscribeStopsDeliveryAndDropsBrokerSubscription(t *testing.T) {
	mb := NewMemoryBroker()
	in := startInstance(t, Options{Broker: mb}, nil, nil)
	c, sc := in.join(t, nil, "room", "other")
	if got := mb.Subscriptions("room"); got != 1 {
		t.Fatalf("broker subscriptions to room = %d, want 1", got)
	}
	in.Hub.Unsubscribe(sc, "room")
	in.Hub.Unsubscribe(sc, "room") // again: nothing
	if got := mb.Subscriptions("room"); got != 0 {
		t.Errorf("broker subscriptions to room after the last local subscriber left = %d, want 0", got)
	}
	if got := in.Hub.Topics(sc); len(got) != 1 || got[0] != "other" {
		t.Errorf("Topics = %q, want [other]", got)
	}
	publish(t, in.Hub, "room", "not for c")
	publish(t, in.Hub, "other", "for c")
	expect(t, c, "for c")

	in.Hub.UnsubscribeAll(sc)
	if members(in.Hub) != 0 || mb.Subscriptions("other") != 0 {
		t.Errorf("after UnsubscribeAll: %d members, %d broker subscriptions", members(in.Hub), mb.Subscriptions("other"))
	}
	// Subscribing again works.
	if err := in.Hub.Subscribe(sc, "room"); err != nil {
		t.Fatal(err)
	}
	publish(t, in.Hub, "room", "again")
	expect(t, c, "again")
}

func TestConnectionEndRemovesItFromEveryTopic(t *testing.T) {
	mb := NewMemoryBroker()
	in := startInstance(t, Options{Broker: mb}, nil, nil)
	gone := removals(in.Hub)
	stay, _ := in.join(t, nil, "room")
	leave, sc := in.join(t, nil, "room", "solo")
	if err := leave.Close(ws.CloseNormal, ""); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-gone:
		if c != sc {
			t.Fatalf("removed %s, want %s", c.ID(), sc.ID())
		}
	case <-time.After(waitLimit):
		t.Fatal("the ended connection was not removed")
	}
	if n := in.Hub.Subscribers("room"); n != 1 {
		t.Errorf("Subscribers(room) = %d, want 1", n)
	}
	if n := mb.Subscriptions("solo"); n != 0 {
		t.Errorf("broker subscriptions to solo = %d, want 0", n)
	}
	if n := members(in.Hub); n != 1 {
		t.Errorf("members = %d, want 1", n)
	}
	publish(t, in.Hub, "room", "still here")
	expect(t, stay, "still here")
}

func TestTwoInstancesDeliverExactlyOnce(t *testing.T) {
	mb := NewMemoryBroker() // stands for a NATS server
	a := startInstance(t, Options{Broker: mb}, nil, nil)
	b := startInstance(t, Options{Broker: mb}, nil, nil)
	ca, _ := a.join(t, nil, "room")
	cb, _ := b.join(t, nil, "room")
	cb2, _ := b.join(t, nil, "room")
	if n := mb.Subscriptions("room"); n != 2 {
		t.Fatalf("broker subscriptions = %d, want one per instance (2)", n)
	}
	publish(t, a.Hub, "room", "from a")
	publish(t, b.Hub, "room", "from b")
	for _, c := range []*runtime.Conn{ca, cb, cb2} {
		expect(t, c, "from a")
		expect(t, c, "from b")
	}
	if sa, sb := a.Hub.Stats(), b.Hub.Stats(); sa.Delivered != 2 || sb.Delivered != 4 {
		t.Errorf("delivered %d on a and %d on b, want 2 and 4", sa.Delivered, sb.Delivered)
	}
}

// smallBuffers makes the kernel buffer little of what the server sends
// to, and what a client receives from, a connection that does not read.
func smallBuffers(ln net.Listener) net.Listener { return bufListener{ln} }

type bufListener struct{ net.Listener }

func (l bufListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(4096)
	}
	return c, err
}

func smallReadBuffer(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := new(net.Dialer).DialContext(ctx, network, addr)
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetReadBuffer(4096)
	}
	return c, err
}

func TestSlowClientSkippedThenDisconnected(t *testing.T) {
	const limit = 3
	// WriteLimit is above one message: the server's count of queued bytes
	// drops only when its write returns, which can be after the fast
	// client has read the whole message, so at the next broadcast the
	// fast connection may still count the previous message as queued.
	// It never counts two: the test waits for each before the next.
	const payloadSize = 8 << 10
	so := &runtime.ServerOptions{Options: runtime.Options{
		WriteLimit: 2 * payloadSize, DisableCompression: true, PingInterval: -1,
	}}
	in := startInstance(t, Options{Broker: NewMemoryBroker(), SlowLimit: limit}, so, smallBuffers)
	fast, _ := in.join(t, nil, "room")
	slow, slowServer := in.join(t, &runtime.DialOptions{Options: runtime.Options{
		MaxQueue: 1, MaxMessageSize: -1, PingInterval: -1,
	}, DialContext: smallReadBuffer}, "room")

	// The slow client never reads: the server's queue to it grows past
	// WriteLimit, and the broadcasts skip it, limit times in a row.
	payload := bytes.Repeat([]byte("x"), payloadSize)
	sent := 0
	for in.Hub.Stats().Disconnected == 0 {
		if sent == 500 {
			t.Fatalf("slow client not disconnected after %d messages: %+v", sent, in.Hub.Stats())
		}
		msg := fmt.Sprintf("%04d%s", sent, payload)
		publish(t, in.Hub, "room", msg)
		expect(t, fast, msg) // the fast client misses nothing
		sent++
	}
	st := in.Hub.Stats()
	t.Logf("sent %d, stats %+v", sent, st)
	if st.Slow < limit || st.Disconnected != 1 {
		t.Errorf("Stats = %+v, want at least %d slow skips and 1 disconnection", st, limit)
	}
	if n := in.Hub.Subscribers("room"); n != 1 {
		t.Errorf("Subscribers = %d after the slow one was dropped, want 1", n)
	}
	if topics := in.Hub.Topics(slowServer); topics != nil {
		t.Errorf("the dropped connection is still in %q", topics)
	}
	publish(t, in.Hub, "room", "after")
	expect(t, fast, "after")

	// Reading now, the slow client finds what was queued before the
	// close frame, then 1008.
	received := 0
	for m := range slow.Messages() {
		received++
		m.Release()
	}
	if received >= sent {
		t.Errorf("the slow client received %d of %d messages: none skipped", received, sent)
	}
	cs := slow.CloseStatus()
	if cs == nil || cs.Rcvd == nil || cs.Rcvd.Code != ws.ClosePolicyViolation || cs.Rcvd.Reason != SlowReason {
		t.Fatalf("slow client's close status = %v, want 1008 %q received", cs, SlowReason)
	}
}

func TestSlowCountRestartsWhenTheClientCatchesUp(t *testing.T) {
	h := New(Options{SlowLimit: 2})
	defer h.Close()
	// Drive countSlow directly: which connections a broadcast skips
	// depends on kernel buffers, the count does not.
	in := startInstance(t, Options{}, nil, nil)
	_, sc := in.join(t, nil, "x")
	if err := h.Subscribe(sc, "t"); err != nil {
		t.Fatal(err)
	}
	skipped := map[string]error{sc.ID(): &runtime.SkipError{Conn: sc, Err: runtime.ErrSlowConnection}}
	list := []*runtime.Conn{sc}
	h.countSlow(list, 1, skipped)
	h.countSlow(list, 0, nil) // took one: the count restarts
	h.countSlow(list, 1, skipped)
	if st := h.Stats(); st.Disconnected != 0 || h.Subscribers("t") != 1 {
		t.Fatalf("dropped after 2 skips that were not in a row: %+v", st)
	}
	h.countSlow(list, 1, skipped)
	if st := h.Stats(); st.Disconnected != 1 || h.Subscribers("t") != 0 {
		t.Fatalf("not dropped after 2 skips in a row: %+v", st)
	}
	<-sc.Done()
}

func TestBroadcastSkipsReadsRuntimeErrors(t *testing.T) {
	in := startInstance(t, Options{}, nil, nil)
	_, sc := in.join(t, nil, "x")
	id := sc.ID()
	err := errors.Join(
		&runtime.SkipError{Conn: sc, Err: runtime.ErrSlowConnection},
		context.Canceled,
	)
	skips, ok := broadcastSkips(err)
	if !ok || !errors.Is(skips[id], runtime.ErrSlowConnection) || len(skips) != 1 {
		t.Fatalf("broadcastSkips = %v, %v", skips, ok)
	}
	if _, ok := broadcastSkips(runtime.ErrInvalidUTF8); ok {
		t.Error("a lone error read as skips")
	}
}

func TestPublishRejectsWhatCannotBeSent(t *testing.T) {
	h := New(Options{Broker: NewMemoryBroker()})
	ctx := context.Background()
	if err := h.Publish(ctx, "t", ws.OpText, []byte{0xff}); !errors.Is(err, ws.ErrInvalidUTF8) {
		t.Errorf("invalid UTF-8: %v", err)
	}
	if err := h.Publish(ctx, "t", ws.OpPing, nil); err == nil {
		t.Error("a ping was published")
	}
	if err := h.Publish(ctx, "", ws.OpText, nil); !errors.Is(err, ErrInvalidTopic) {
		t.Errorf("empty topic: %v", err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if err := h.Publish(ctx, "t", ws.OpText, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
}

func TestBrokerMessagesNotFromAHubAreDropped(t *testing.T) {
	mb := NewMemoryBroker()
	in := startInstance(t, Options{Broker: mb}, nil, nil)
	c, _ := in.join(t, nil, "room")
	ctx := context.Background()
	for _, raw := range [][]byte{nil, {9, 'x'}, {byte(ws.OpText), 0xff}} {
		if err := mb.Publish(ctx, "room", raw); err != nil {
			t.Fatal(err)
		}
	}
	publish(t, in.Hub, "room", "ok")
	expect(t, c, "ok")
	if st := in.Hub.Stats(); st.Dropped != 3 {
		t.Errorf("Dropped = %d, want 3", st.Dropped)
	}
}

// gatedBroker is a MemoryBroker whose Subscribe waits for gate, or fails
// with fail.
type gatedBroker struct {
	*MemoryBroker
	gate    chan struct{}
	entered chan struct{}
	fail    error
}

func (b *gatedBroker) Subscribe(topic string, deliver func([]byte)) (func(), error) {
	if b.entered != nil {
		b.entered <- struct{}{}
	}
	if b.gate != nil {
		<-b.gate
	}
	if b.fail != nil {
		return nil, b.fail
	}
	return b.MemoryBroker.Subscribe(topic, deliver)
}

func TestBrokerSubscribeFailureLeavesNothingBehind(t *testing.T) {
	boom := errors.New("boom")
	in := startInstance(t, Options{}, nil, nil)
	_, sc := in.join(t, nil, "x")
	h := New(Options{Broker: &gatedBroker{MemoryBroker: NewMemoryBroker(), fail: boom}})
	defer h.Close()
	if err := h.Subscribe(sc, "t"); !errors.Is(err, boom) {
		t.Fatalf("Subscribe = %v, want the broker's error", err)
	}
	if members(h) != 0 || h.Subscribers("t") != 0 {
		t.Errorf("%d members, %d subscribers left after a failed Subscribe", members(h), h.Subscribers("t"))
	}
}

func TestLeavingWhileTheBrokerSubscribesDropsTheSubscription(t *testing.T) {
	gb := &gatedBroker{MemoryBroker: NewMemoryBroker(), gate: make(chan struct{}), entered: make(chan struct{}, 1)}
	in := startInstance(t, Options{}, nil, nil)
	_, sc := in.join(t, nil, "x")
	h := New(Options{Broker: gb})
	defer h.Close()
	subscribed := make(chan error, 1)
	go func() { subscribed <- h.Subscribe(sc, "t") }()
	<-gb.entered // the broker subscription is in progress
	h.Unsubscribe(sc, "t")
	close(gb.gate)
	if err := <-subscribed; err != nil {
		t.Fatal(err)
	}
	if n := gb.Subscriptions("t"); n != 0 {
		t.Errorf("broker subscriptions = %d after the only subscriber left, want 0", n)
	}
	if members(h) != 0 {
		t.Errorf("%d members left", members(h))
	}
}

func TestSubscribeAfterCloseOrConnectionEnd(t *testing.T) {
	in := startInstance(t, Options{}, nil, nil)
	c, sc := in.join(t, nil, "x")
	h := New(Options{})
	if err := h.Subscribe(sc, ""); !errors.Is(err, ErrInvalidTopic) {
		t.Errorf("empty topic: %v", err)
	}
	c.CloseNow()
	<-sc.Done()
	if err := h.Subscribe(sc, "t"); !errors.Is(err, ws.ErrClosed) {
		t.Errorf("ended connection: %v", err)
	}
	h.Close()
	if err := h.Subscribe(sc, "t"); !errors.Is(err, ErrClosed) {
		t.Errorf("closed hub: %v", err)
	}
}

// TestConcurrentSubscriptionsAndPublishes is for the race detector: the
// Hub's state ends empty whatever the interleaving.
func TestConcurrentSubscriptionsAndPublishes(t *testing.T) {
	mb := NewMemoryBroker()
	in := startInstance(t, Options{Broker: mb}, nil, nil)
	other := New(Options{Broker: mb}) // a second instance, without connections
	defer other.Close()
	var conns []*runtime.Conn
	for range 4 {
		_, sc := in.join(t, nil, "base")
		conns = append(conns, sc)
	}
	topics := []string{"t0", "t1", "t2"}
	ctx := context.Background()
	var wg sync.WaitGroup
	for i, sc := range conns {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(i), 1))
			for range 200 {
				name := topics[r.IntN(len(topics))]
				if r.IntN(2) == 0 {
					if err := in.Hub.Subscribe(sc, name); err != nil {
						t.Error(err)
						return
					}
				} else {
					in.Hub.Unsubscribe(sc, name)
				}
			}
		})
	}
	for _, h := range []*Hub{in.Hub, other} {
		wg.Go(func() {
			for i := range 300 {
				_ = h.Publish(ctx, topics[i%len(topics)], ws.OpText, []byte("m"))
			}
		})
	}
	wg.Wait()
	for _, sc := range conns {
		in.Hub.UnsubscribeAll(sc)
	}
	for _, name := range append(topics, "base") {
		if n, m := in.Hub.Subscribers(name), mb.Subscriptions(name); n != 0 || m != 0 {
			t.Errorf("topic %s: %d subscribers, %d broker subscriptions left", name, n, m)
		}
	}
	if members(in.Hub) != 0 {
		t.Errorf("%d members left", members(in.Hub))
	}
}
