package runtime

import (
	"fmt"
	"testing"
)

// Once a message could not be delivered (the connection is torn down and
// Messages is full), no later message is delivered either, even when
// Messages has room again: the application sees a prefix of the stream,
// never a hole.
func TestDeliveryStopsAtTheFirstMessageDropped(t *testing.T) {
	c := &Conn{msgs: make(chan Message, 1), appClosed: make(chan struct{})}
	r := reader{c: c}
	msg := func(i int) Message { return Message{Data: fmt.Appendf(nil, "m%d", i), First: true, Fin: true} }
	r.deliver(msg(0))
	close(c.appClosed) // aborted: the reader no longer waits
	r.deliver(msg(1))  // Messages is full: dropped
	if m := <-c.msgs; string(m.Data) != "m0" {
		t.Fatalf("first message %q", m.Data)
	}
	for i := 2; i < 5; i++ {
		r.deliver(msg(i)) // Messages has room now
	}
	select {
	case m := <-c.msgs:
		t.Fatalf("%q delivered after m1 was dropped", m.Data)
	default:
	}
	if c.undelivered != 4 {
		t.Fatalf("undelivered = %d, want 4 (m1 to m4)", c.undelivered)
	}
}
