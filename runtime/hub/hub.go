package hub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/tetherws/tether/runtime"
	"github.com/tetherws/tether/ws"
)

// SlowReason is the reason of the close frame (code 1008, policy
// violation) sent to a connection dropped for being too slow.
const SlowReason = "too slow"

var (
	// ErrClosed is returned by Subscribe and Publish after Close.
	ErrClosed = errors.New("hub: closed")
	// ErrInvalidTopic is returned for the empty topic; brokers return
	// errors matching it for topics they cannot carry.
	ErrInvalidTopic = errors.New("hub: invalid topic")
)

// Options configure a Hub. The zero value is a Hub for one instance that
// counts slow connections but never drops them.
type Options struct {
	// Broker, if set, carries every message: Publish publishes to it,
	// and the Hub delivers to its subscribers what it receives from it.
	// The Hub does not close it. Nil: Publish delivers locally.
	Broker Broker
	// SlowLimit, when positive, closes a connection with 1008 (policy
	// violation, SlowReason) once this many messages in a row were
	// skipped because more than its WriteLimit bytes were still queued,
	// and removes it from every topic. A message it takes in between
	// starts the count again. Zero: slow connections are skipped and
	// counted, never closed.
	SlowLimit int
	// Logger receives the Hub's warnings (dropped connections, broker
	// messages not understood). Default: discard.
	Logger *slog.Logger
}

// Stats counts what a Hub did since New.
type Stats struct {
	Published    int64 // messages accepted by Publish
	Fanouts      int64 // messages fanned out to local subscribers (from Publish or the broker)
	Delivered    int64 // messages queued or written to a connection
	Slow         int64 // messages skipped for a connection that was slow
	NotOpen      int64 // messages skipped for a connection that was closing, or in a fragmented send
	Disconnected int64 // connections closed with 1008 for being slow
	Dropped      int64 // broker messages not understood (not made by a Hub)
}

// Hub tracks WebSocket connections by topic and fans messages out to them.
// Its methods are safe for concurrent use.
type Hub struct {
	broker    Broker
	slowLimit int
	log       *slog.Logger

	ctx    context.Context // deliveries from the broker; cancelled by Close
	cancel context.CancelFunc

	mu       sync.RWMutex
	topics   map[string]*topic
	members  map[*runtime.Conn]*member
	skipping map[*runtime.Conn]*member // members with skips > 0
	closed   bool
	nskip    atomic.Int32 // len(skipping), read without mu

	closers sync.WaitGroup // goroutines closing slow connections

	published, fanouts, delivered, slow, notOpen, disconnected, dropped atomic.Int64

	removed func(c *runtime.Conn) // test hook: a connection left every topic by itself
}

// topic is one topic with local subscribers and, with a broker, its
// broker subscription. When its last subscriber leaves it is removed from
// Hub.topics and marked dead; a later subscriber makes a new one, so a
// delivery for a dead topic (from a broker subscription being dropped)
// reaches no one.
type topic struct {
	name  string
	conns map[*runtime.Conn]struct{}
	list  []*runtime.Conn // snapshot of conns, never modified; nil: to rebuild

	ready   chan struct{} // closed once the broker subscription is settled
	settled bool          // under mu: ready is closed
	err     error         // the broker subscription failed
	unsub   func()
	dead    bool
}

// member is one subscribed connection.
type member struct {
	topics map[string]*topic
	stop   func() bool // stops the context.AfterFunc that removes it
	skips  int         // messages skipped in a row for being slow
}

// New returns a Hub.
func New(o Options) *Hub {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Hub{
		broker:    o.Broker,
		slowLimit: o.SlowLimit,
		log:       log,
		ctx:       ctx,
		cancel:    cancel,
		topics:    make(map[string]*topic),
		members:   make(map[*runtime.Conn]*member),
		skipping:  make(map[*runtime.Conn]*member),
	}
}

// Subscribe adds c to the subscribers of topic; subscribing again does
// nothing. With a broker, the first local subscriber of a topic makes the
// Hub subscribe to it on the broker, and Subscribe returns once that
// subscription is in place: messages published after it returns, on any
// instance, reach c. c leaves every topic by itself when it ends.
func (h *Hub) Subscribe(c *runtime.Conn, name string) error {
	if name == "" {
		return fmt.Errorf("hub: subscribe: %w", ErrInvalidTopic)
	}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return ErrClosed
	}
	if c.Context().Err() != nil {
		h.mu.Unlock()
		return fmt.Errorf("hub: subscribe %s to %q: %w", c.ID(), name, ws.ErrClosed)
	}
	m := h.members[c]
	if m == nil {
		m = &member{topics: make(map[string]*topic, 1)}
		h.members[c] = m
		// One registration per connection, whatever its number of
		// topics: context.AfterFunc starts a goroutine only when the
		// connection ends.
		m.stop = context.AfterFunc(c.Context(), func() { h.connEnded(c) })
	}
	t := m.topics[name]
	create := false
	if t == nil {
		if t = h.topics[name]; t == nil {
			t = &topic{name: name, conns: make(map[*runtime.Conn]struct{}), ready: make(chan struct{})}
			h.topics[name] = t
			create = true
			if h.broker == nil {
				t.settled = true
				close(t.ready)
			}
		}
		t.conns[c] = struct{}{}
		t.list = nil
		m.topics[name] = t
	}
	h.mu.Unlock()

	if create && h.broker != nil {
		h.subscribeBroker(t)
	}
	<-t.ready
	if t.err != nil {
		return fmt.Errorf("hub: subscribe %s to %q: %w", c.ID(), name, t.err)
	}
	return nil
}

// subscribeBroker takes t's broker subscription, then settles t: on
// failure, every connection that joined t meanwhile leaves it.
func (h *Hub) subscribeBroker(t *topic) {
	unsub, err := h.broker.Subscribe(t.name, func(msg []byte) { h.deliver(t, msg) })
	var drop []func()
	h.mu.Lock()
	t.err = err
	switch {
	case err != nil:
		for c := range t.conns {
			if m := h.members[c]; m != nil {
				delete(m.topics, t.name)
				h.forgetIfIdleLocked(c, m)
			}
		}
		clear(t.conns)
		t.list = nil
		if h.topics[t.name] == t {
			delete(h.topics, t.name)
		}
		t.dead = true
	case t.dead: // everyone left (or Close) while subscribing
		drop = append(drop, unsub)
	default:
		t.unsub = unsub
	}
	t.settled = true
	close(t.ready)
	h.mu.Unlock()
	for _, f := range drop {
		f()
	}
}

// Unsubscribe removes c from the subscribers of topic. The last local
// subscriber to leave drops the Hub's broker subscription to it.
func (h *Hub) Unsubscribe(c *runtime.Conn, name string) {
	h.mu.Lock()
	var drop []func()
	if m := h.members[c]; m != nil {
		if t := m.topics[name]; t != nil {
			drop = h.leaveLocked(c, m, t, drop)
			h.forgetIfIdleLocked(c, m)
		}
	}
	h.mu.Unlock()
	for _, f := range drop {
		f()
	}
}

// UnsubscribeAll removes c from every topic.
func (h *Hub) UnsubscribeAll(c *runtime.Conn) {
	h.mu.Lock()
	drop := h.removeLocked(c, nil)
	h.mu.Unlock()
	for _, f := range drop {
		f()
	}
}

// connEnded runs (from context.AfterFunc) when c's context ends.
func (h *Hub) connEnded(c *runtime.Conn) {
	h.mu.Lock()
	_, ok := h.members[c]
	drop := h.removeLocked(c, nil)
	hook := h.removed
	h.mu.Unlock()
	for _, f := range drop {
		f()
	}
	if ok && hook != nil {
		hook(c)
	}
}

// removeLocked removes c from every topic and forgets it. It appends the
// broker unsubscriptions to make (outside mu) to drop.
func (h *Hub) removeLocked(c *runtime.Conn, drop []func()) []func() {
	m := h.members[c]
	if m == nil {
		return drop
	}
	for _, t := range m.topics {
		drop = h.leaveLocked(c, m, t, drop)
	}
	h.forgetIfIdleLocked(c, m)
	return drop
}

// leaveLocked removes c from t. When t has no subscriber left, t dies,
// and its broker unsubscription is appended to drop (if it is not settled
// yet, subscribeBroker drops it).
func (h *Hub) leaveLocked(c *runtime.Conn, m *member, t *topic, drop []func()) []func() {
	delete(m.topics, t.name)
	delete(t.conns, c)
	t.list = nil
	if len(t.conns) == 0 && !t.dead {
		t.dead = true
		if h.topics[t.name] == t {
			delete(h.topics, t.name)
		}
		if t.settled && t.unsub != nil {
			drop = append(drop, t.unsub)
			t.unsub = nil
		}
	}
	return drop
}

// forgetIfIdleLocked forgets c once it has no topic left.
func (h *Hub) forgetIfIdleLocked(c *runtime.Conn, m *member) {
	if len(m.topics) > 0 || h.members[c] != m {
		return
	}
	m.stop()
	delete(h.members, c)
	if _, ok := h.skipping[c]; ok {
		delete(h.skipping, c)
		h.nskip.Store(int32(len(h.skipping)))
	}
}

// Publish sends a message of type typ (ws.OpText or ws.OpBinary) to every
// subscriber of topic. Without a broker, it fans out to the local
// subscribers before returning. With a broker, it publishes to the broker
// and returns: each instance's Hub, this one included, delivers the
// message to its subscribers when the broker delivers it. Text must be
// valid UTF-8. The caller may reuse data when Publish returns.
func (h *Hub) Publish(ctx context.Context, name string, typ ws.Opcode, data []byte) error {
	if name == "" {
		return fmt.Errorf("hub: publish: %w", ErrInvalidTopic)
	}
	if err := ws.CheckMessage(typ, data); err != nil {
		return fmt.Errorf("hub: publish to %q: %w", name, err)
	}
	h.mu.RLock()
	closed, t := h.closed, h.topics[name]
	h.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	h.published.Add(1)
	if h.broker == nil {
		if t == nil {
			return nil
		}
		return h.fanout(ctx, t, typ, data)
	}
	env := envelopes.Get().(*[]byte)
	*env = append(append((*env)[:0], byte(typ)), data...)
	err := h.broker.Publish(ctx, name, *env)
	if cap(*env) <= maxPooledEnvelope {
		envelopes.Put(env)
	}
	if err != nil {
		return fmt.Errorf("hub: publish to %q: %w", name, err)
	}
	return nil
}

// Messages travel through the broker as an envelope: one byte for the
// WebSocket message type (ws.OpText or ws.OpBinary), then the data.
var envelopes = sync.Pool{New: func() any { return new([]byte) }}

const maxPooledEnvelope = 64 << 10

// deliver fans out one message from t's broker subscription.
func (h *Hub) deliver(t *topic, msg []byte) {
	if len(msg) == 0 || (ws.Opcode(msg[0]) != ws.OpText && ws.Opcode(msg[0]) != ws.OpBinary) {
		h.dropped.Add(1)
		h.log.Warn("hub: dropped a broker message that no Hub made", "topic", t.name, "len", len(msg))
		return
	}
	if err := h.fanout(h.ctx, t, ws.Opcode(msg[0]), msg[1:]); err != nil && h.ctx.Err() == nil {
		h.dropped.Add(1)
		h.log.Warn("hub: dropped a broker message", "topic", t.name, "err", err)
	}
}

// fanout broadcasts one message to t's local subscribers, then keeps
// count of the slow ones.
func (h *Hub) fanout(ctx context.Context, t *topic, typ ws.Opcode, data []byte) error {
	h.mu.RLock()
	list, dead := t.list, t.dead || h.closed
	h.mu.RUnlock()
	if dead {
		return nil
	}
	if list == nil {
		h.mu.Lock()
		if t.list == nil && len(t.conns) > 0 {
			t.list = make([]*runtime.Conn, 0, len(t.conns))
			for c := range t.conns {
				t.list = append(t.list, c)
			}
		}
		list = t.list
		h.mu.Unlock()
	}
	if len(list) == 0 {
		return nil
	}
	h.fanouts.Add(1)
	res, err := runtime.BroadcastWith(ctx, list, typ, data, runtime.BroadcastOptions{Errors: true})
	h.delivered.Add(int64(res.Sent))
	h.notOpen.Add(int64(res.NotOpen + res.Fragmented))
	h.slow.Add(int64(res.Slow))
	skips, ok := broadcastSkips(err)
	if !ok { // the message could not be sent at all
		return err
	}
	if res.Slow > 0 || h.nskip.Load() > 0 {
		h.countSlow(list, res.Slow, skips)
	}
	if cerr := ctx.Err(); cerr != nil && errors.Is(err, cerr) {
		return cerr
	}
	return nil
}

// countSlow updates the consecutive skips of the connections in list:
// one more for those skipped as slow (whose ids are in skips), zero for
// the others that took the message. Connections reaching SlowLimit are
// removed and closed with 1008.
func (h *Hub) countSlow(list []*runtime.Conn, nslow int, skips map[string]error) {
	var slow []*runtime.Conn
	if nslow > 0 {
		for _, c := range list {
			if errors.Is(skips[c.ID()], runtime.ErrSlowConnection) {
				slow = append(slow, c)
			}
		}
		if len(slow) < nslow {
			h.log.Warn("hub: could not tell which connections a broadcast skipped as slow", "slow", nslow, "found", len(slow))
		}
	}
	var drop []func()
	h.mu.Lock()
	// Reset the count of connections that took the message. Those that
	// were not in list (another topic) keep theirs.
	if len(h.skipping) > 0 {
		in := make(map[*runtime.Conn]bool, len(h.skipping))
		for _, c := range list {
			if _, ok := h.skipping[c]; ok {
				in[c] = true
			}
		}
		for c, m := range h.skipping {
			if in[c] && skips[c.ID()] == nil {
				m.skips = 0
				delete(h.skipping, c)
			}
		}
	}
	for _, c := range slow {
		m := h.members[c]
		if m == nil {
			continue // it left meanwhile
		}
		m.skips++
		h.skipping[c] = m
		if h.slowLimit > 0 && m.skips >= h.slowLimit && !h.closed {
			drop = h.removeLocked(c, drop)
			h.disconnected.Add(1)
			h.closers.Add(1)
			go func() {
				defer h.closers.Done()
				c.Logger().Warn("hub: closing a connection too slow to take its messages", "skipped", h.slowLimit)
				_ = c.Close(ws.ClosePolicyViolation, SlowReason)
			}()
		}
	}
	h.nskip.Store(int32(len(h.skipping)))
	h.mu.Unlock()
	for _, f := range drop {
		f()
	}
}

// Subscribers returns the number of local subscribers of topic.
func (h *Hub) Subscribers(name string) int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if t := h.topics[name]; t != nil {
		return len(t.conns)
	}
	return 0
}

// Topics returns the topics c is subscribed to, in no particular order.
func (h *Hub) Topics(c *runtime.Conn) []string {
	h.mu.RLock()
	defer h.mu.RUnlock()
	m := h.members[c]
	if m == nil {
		return nil
	}
	names := make([]string, 0, len(m.topics))
	for name := range m.topics {
		names = append(names, name)
	}
	return names
}

// Stats returns the Hub's counters.
func (h *Hub) Stats() Stats {
	return Stats{
		Published:    h.published.Load(),
		Fanouts:      h.fanouts.Load(),
		Delivered:    h.delivered.Load(),
		Slow:         h.slow.Load(),
		NotOpen:      h.notOpen.Load(),
		Disconnected: h.disconnected.Load(),
		Dropped:      h.dropped.Load(),
	}
}

// Close forgets every subscription and drops the broker subscriptions; it
// waits for the slow connections being closed. It neither closes the
// remaining connections nor the broker. Subscribe and Publish then fail
// with ErrClosed.
func (h *Hub) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	var drop []func()
	for c, m := range h.members {
		m.stop()
		delete(h.members, c)
	}
	for name, t := range h.topics {
		t.dead = true
		if t.settled && t.unsub != nil {
			drop = append(drop, t.unsub)
			t.unsub = nil
		}
		delete(h.topics, name)
	}
	clear(h.skipping)
	h.nskip.Store(0)
	h.mu.Unlock()
	h.cancel()
	for _, f := range drop {
		f()
	}
	h.closers.Wait()
	return nil
}
