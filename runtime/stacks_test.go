//go:build !race

package runtime

import (
	"context"
	goruntime "runtime"
	"sync"
	"testing"

	"github.com/tetherws/tether/ws"
)

// stackInuse returns the bytes of goroutine stacks after two collections
// (each may halve a stack that uses little of itself).
func stackInuse() uint64 {
	var ms goruntime.MemStats
	goruntime.GC()
	goruntime.GC()
	goruntime.ReadMemStats(&ms)
	return ms.StackInuse
}

// Once the connections of a server running the README's echo handler have
// echoed a message and gone idle, their four goroutines (reader, writer,
// keepalive, handler) are back on Go's smallest stacks, 2 KiB: the reader
// moves to a fresh goroutine, and the handler's inline write stays within
// its first stack. (A stack that grew to 4 KiB never shrinks back: the
// collector halves only a stack used to less than a quarter, counting
// the space kept for nosplit functions.) The race detector's frames are
// larger, hence the build tag.
func TestIdleEchoConnectionsKeepSmallStacks(t *testing.T) {
	const n = 300
	var mu sync.Mutex
	var conns []*Conn
	url := startServer(t, &Server{Handler: func(ctx context.Context, c *Conn) error {
		mu.Lock()
		conns = append(conns, c)
		mu.Unlock()
		for msg := range c.Messages() {
			if err := c.SendMessage(ctx, msg); err != nil {
				return err
			}
		}
		return nil
	}})
	peers := make([]*rawPeer, n)
	for i := range peers {
		peers[i] = rawClient(t, url)
	}
	eventually(t, "every handler started", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(conns) == n
	})
	opened := stackInuse() // four fresh goroutines per connection
	payload := make([]byte, 1024)
	for _, p := range peers {
		p.send(true, ws.OpText, payload)
		p.expect(ws.OpText)
	}
	eventually(t, "every reader moved to a fresh goroutine", func() bool {
		mu.Lock()
		defer mu.Unlock()
		moved := 0
		for _, c := range conns {
			if c.moves.Load() > 0 {
				moved++
			}
		}
		return moved == n
	})
	grown := (float64(stackInuse()) - float64(opened)) / n
	// One goroutine per connection left on 4 KiB would be 2 KiB more.
	if grown > 1024 {
		t.Fatalf("after one echo, stacks hold %.0f B more per idle connection than when the connections opened; want none", grown)
	}
	t.Logf("after one echo: %+.0f B of stacks per idle connection", grown)
}
