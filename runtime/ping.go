package runtime

import (
	"context"
	"time"

	"github.com/tetherws/tether/ws"
)

// ErrDuplicatePing is returned by Ping for a payload equal to one still
// waiting for its pong. It matches ws.ErrConcurrency.
var ErrDuplicatePing = &dupPingError{}

type dupPingError struct{}

func (*dupPingError) Error() string        { return "tether: already waiting for a pong with the same data" }
func (*dupPingError) Is(target error) bool { return target == ws.ErrConcurrency }

// sendPing registers a ping, then queues it; the pong (or a later one) is
// reported on ch (Ping's) or to fn (the keepalive's). A nil payload picks
// 4 random bytes not used by a pending ping. It returns the payload, which
// identifies the pending ping (payloads are unique). A ping the protocol
// refuses (a payload over 125 bytes) is forgotten at once.
func (c *Conn) sendPing(payload []byte, ch chan time.Duration, fn func(time.Duration)) (string, error) {
	c.pingMu.Lock()
	if payload == nil {
		b := c.pingPayloadLocked()
		payload = b[:]
	} else if c.pendingLocked(string(payload)) {
		c.pingMu.Unlock()
		return "", ErrDuplicatePing
	}
	// Registered before it goes out: the pong can arrive before
	// queueControl returns.
	id := string(payload)
	c.pings = append(c.pings, pendingPing{payload: id, sent: time.Now(), ch: ch, fn: fn})
	c.pingMu.Unlock()

	if err := c.queueControl(ws.OpPing, payload); err != nil {
		c.forgetPing(id)
		return "", err
	}
	return id, nil
}

func (c *Conn) pendingLocked(payload string) bool {
	for _, p := range c.pings {
		if p.payload == payload {
			return true
		}
	}
	return false
}

// forgetPing drops the pending ping with this payload.
func (c *Conn) forgetPing(payload string) {
	c.pingMu.Lock()
	defer c.pingMu.Unlock()
	for i, p := range c.pings {
		if p.payload == payload {
			c.pings = append(c.pings[:i], c.pings[i+1:]...)
			return
		}
	}
}

// queueControl queues a ping or pong ahead of queued data. The protocol
// checks the payload (ws.Protocol.AppendPing, AppendPong).
func (c *Conn) queueControl(op ws.Opcode, payload []byte) error {
	c.mu.Lock()
	if c.proto.State() != ws.StateOpen {
		c.mu.Unlock() // closeErr takes c.mu once the connection is done
		return c.closeErr()
	}
	defer c.mu.Unlock()
	b := getBuf()
	var err error
	if op == ws.OpPing {
		*b, err = c.proto.AppendPing(*b, payload)
	} else {
		*b, err = c.proto.AppendPong(*b, payload)
	}
	if err != nil {
		putBuf(b)
		return err
	}
	c.pushLocked(outFrame{b: *b, buf: b}, true)
	if c.debugOn() {
		c.logFrame('>', op, payload, true)
	}
	c.kickLocked()
	return nil
}

// Ping sends a ping and waits for the matching pong; it returns the round
// trip time. A nil payload uses 4 random bytes. A pong also acknowledges
// every older pending ping. If ctx ends first, Ping returns ctx.Err() and
// forgets the ping; if the connection ends first, the close error.
func (c *Conn) Ping(ctx context.Context, payload []byte) (time.Duration, error) {
	ch := make(chan time.Duration, 1)
	id, err := c.sendPing(payload, ch, nil)
	if err != nil {
		return 0, err
	}
	select {
	case l, ok := <-ch:
		if !ok {
			return 0, c.closeErr()
		}
		return l, nil
	case <-ctx.Done():
		c.forgetPing(id)
		return 0, ctx.Err()
	}
}

// Pong sends an unsolicited pong, a one-way heartbeat. A payload over 125
// bytes is a *ws.SendError.
func (c *Conn) Pong(payload []byte) error { return c.queueControl(ws.OpPong, payload) }
