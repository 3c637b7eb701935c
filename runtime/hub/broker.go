package hub

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// A Broker carries messages between the Hubs of several processes (or of
// one): a message published to a topic anywhere reaches every subscription
// to that topic everywhere, the publisher's own included.
//
// A Hub calls Subscribe once per topic with local subscribers, so a
// broker must not filter out a process's own messages (NATS "no echo"):
// the publishing Hub delivers to its own subscribers only when its
// message comes back.
type Broker interface {
	// Publish sends msg to every subscription of topic. It must not
	// keep msg after it returns. ctx bounds the call.
	Publish(ctx context.Context, topic string, msg []byte) error
	// Subscribe calls deliver with each message published to topic
	// until unsubscribe is called. It returns once the subscription is
	// in place, so that messages published anywhere after that are
	// delivered. Calls of one deliver function come one at a time, and
	// deliver must neither keep nor modify msg after it returns (the
	// broker may reuse it). After unsubscribe returns, a delivery that
	// had already started may still finish; none starts later.
	// Calling unsubscribe again does nothing.
	Subscribe(topic string, deliver func(msg []byte)) (unsubscribe func(), err error)
	// Close ends every subscription and releases the broker. Publish and
	// Subscribe then fail with an error matching ErrBrokerClosed.
	Close() error
}

// ErrBrokerClosed is returned by MemoryBroker after Close. Other brokers
// wrap it, or their own error, in theirs.
var ErrBrokerClosed = errors.New("hub: broker closed")

// MemoryBroker is a Broker inside one process: for a single instance, and
// for tests, where several Hubs sharing one MemoryBroker behave like
// several instances sharing a NATS server. Publish delivers synchronously,
// in the caller's goroutine, to every subscription of the topic. The zero
// value is ready to use.
type MemoryBroker struct {
	mu     sync.RWMutex
	subs   map[string][]*memSub // per topic; copied on write
	closed bool
}

type memSub struct {
	deliver func([]byte)
	mu      sync.Mutex // one delivery at a time, as Broker requires
	gone    atomic.Bool
}

// NewMemoryBroker returns an empty MemoryBroker.
func NewMemoryBroker() *MemoryBroker { return new(MemoryBroker) }

// Publish calls the deliver function of every subscription of topic,
// one after the other, and returns when they have returned.
func (b *MemoryBroker) Publish(ctx context.Context, topic string, msg []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b.mu.RLock()
	subs, closed := b.subs[topic], b.closed
	b.mu.RUnlock()
	if closed {
		return fmt.Errorf("hub: publish to %q: %w", topic, ErrBrokerClosed)
	}
	for _, s := range subs {
		s.mu.Lock()
		if !s.gone.Load() {
			s.deliver(msg)
		}
		s.mu.Unlock()
	}
	return nil
}

// Subscribe registers deliver for topic.
func (b *MemoryBroker) Subscribe(topic string, deliver func(msg []byte)) (func(), error) {
	s := &memSub{deliver: deliver}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, fmt.Errorf("hub: subscribe to %q: %w", topic, ErrBrokerClosed)
	}
	if b.subs == nil {
		b.subs = make(map[string][]*memSub)
	}
	b.subs[topic] = append(b.subs[topic][:len(b.subs[topic]):len(b.subs[topic])], s)
	return func() { b.unsubscribe(topic, s) }, nil
}

func (b *MemoryBroker) unsubscribe(topic string, s *memSub) {
	if s.gone.Swap(true) {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	old := b.subs[topic]
	subs := make([]*memSub, 0, len(old))
	for _, o := range old {
		if o != s {
			subs = append(subs, o)
		}
	}
	if len(subs) == 0 {
		delete(b.subs, topic)
	} else {
		b.subs[topic] = subs
	}
}

// Subscriptions returns the number of subscriptions to topic (tests).
func (b *MemoryBroker) Subscriptions(topic string) int {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return len(b.subs[topic])
}

// Close drops every subscription; Publish and Subscribe then fail.
func (b *MemoryBroker) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, subs := range b.subs {
		for _, s := range subs {
			s.gone.Store(true)
		}
	}
	b.subs, b.closed = nil, true
	return nil
}
