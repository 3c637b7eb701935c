package hub

import (
	"context"
	"net"
	"testing"

	"go.uber.org/goleak"

	"github.com/tetherws/tether/runtime"
	"github.com/tetherws/tether/runtime/hub/internal/hubtest"
	"github.com/tetherws/tether/ws"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const waitLimit = hubtest.WaitLimit

// instance is one server instance (see hubtest.Instance) serving Hub.
type instance struct {
	*hubtest.Instance
	Hub *Hub
}

// startInstance serves a Hub with o on 127.0.0.1:0. so, if set, configure
// the server's connections; wrap, if set, wraps the listener. The Hub is
// closed after the server is shut down, when the test ends.
func startInstance(t *testing.T, o Options, so *runtime.ServerOptions, wrap func(net.Listener) net.Listener) *instance {
	t.Helper()
	h := New(o)
	t.Cleanup(func() {
		if err := h.Close(); err != nil {
			t.Errorf("Hub.Close: %v", err)
		}
	})
	return &instance{Instance: hubtest.Start(t, h.Subscribe, so, wrap), Hub: h}
}

func (in *instance) join(t *testing.T, do *runtime.DialOptions, topics ...string) (client, server *runtime.Conn) {
	t.Helper()
	return in.Join(t, do, topics...)
}

func expect(t *testing.T, c *runtime.Conn, want string) {
	t.Helper()
	hubtest.Expect(t, c, want)
}

func publish(t *testing.T, h *Hub, topic, text string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := h.Publish(ctx, topic, ws.OpText, []byte(text)); err != nil {
		t.Fatalf("Publish(%q, %q): %v", topic, text, err)
	}
}

// removals sets h's hook for connections leaving by themselves and
// returns the channel it reports them on.
func removals(h *Hub) <-chan *runtime.Conn {
	ch := make(chan *runtime.Conn, 16)
	h.mu.Lock()
	h.removed = func(c *runtime.Conn) { ch <- c }
	h.mu.Unlock()
	return ch
}

// members returns the number of connections h tracks.
func members(h *Hub) int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.members)
}
