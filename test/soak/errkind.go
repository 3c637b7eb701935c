package soak

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"sync"
	"syscall"

	tether "github.com/tetherws/tether"
	"github.com/tetherws/tether/runtime"
)

// kindOf names the kind of an error for the report: a handful of words
// that the same failure on another connection shares (no addresses).
func kindOf(err error) string {
	var ce *tether.CloseError
	switch {
	case err == nil:
		return "none"
	case errors.Is(err, runtime.ErrUndelivered):
		return "received messages undelivered"
	case errors.Is(err, tether.ErrCloseTimeout):
		return "close timeout"
	case errors.As(err, &ce):
		if ce.Cause != nil {
			return kindOf(ce.Cause)
		}
		return "closed " + closeCodes(ce)
	case errors.Is(err, tether.ErrClosing):
		return "closing"
	case errors.Is(err, tether.ErrSlowConnection):
		return "slow connection"
	case errors.Is(err, tether.ErrInvalidStatus):
		return "handshake status"
	case errors.Is(err, tether.ErrInvalidHandshake):
		return "handshake"
	case errors.Is(err, tether.ErrProtocol):
		return "protocol error"
	case errors.Is(err, context.DeadlineExceeded):
		return "deadline exceeded"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		return "too many open files"
	case errors.Is(err, syscall.EADDRNOTAVAIL), errors.Is(err, syscall.EADDRINUSE):
		return "no ephemeral port"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.EPIPE):
		return "broken pipe"
	case errors.Is(err, net.ErrClosed):
		return "use of closed connection"
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout"
	}
	return fmt.Sprintf("other (%T)", err)
}

// closeCodes describes the close frames of a connection's end: "sent
// 1001, received 1001", "sent 1011, received none".
func closeCodes(ce *tether.CloseError) string {
	return "sent " + frameCode(ce.Sent) + ", received " + frameCode(ce.Rcvd)
}

// frameCode returns a close frame's code, or "none".
func frameCode(f *tether.CloseFrame) string {
	if f == nil {
		return "none"
	}
	return fmt.Sprint(int(f.Code))
}

// tally counts events by key, keeping the first error of each key as an
// example. It is safe for concurrent use.
type tally struct {
	mu       sync.Mutex
	counts   map[string]uint64
	examples map[string]string
}

// add counts one event of key.
func (t *tally) add(key string) { t.addErr(key, nil) }

// addErr counts one event of key with err as its example.
func (t *tally) addErr(key string, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.counts == nil {
		t.counts = make(map[string]uint64)
		t.examples = make(map[string]string)
	}
	t.counts[key]++
	if _, ok := t.examples[key]; !ok && err != nil {
		t.examples[key] = err.Error()
	}
}

// snapshot returns a copy of the counts.
func (t *tally) snapshot() map[string]uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return maps.Clone(t.counts)
}

// example returns the first error counted under key, or "".
func (t *tally) example(key string) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.examples[key]
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
