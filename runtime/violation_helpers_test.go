package runtime

import (
	"testing"
	"time"
)

// closeAfterViolation plays the application after the peer violated the
// protocol: it waits for Messages to close (dropping what it still holds)
// and calls Close in the background, which sends the failure's close
// frame. The test then reads that frame as the peer. (Err would wait for
// the end of the connection, which the test's peer has yet to allow.)
func closeAfterViolation(t *testing.T, c *Conn) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case m, ok := <-c.Messages():
			if ok {
				m.Release()
				continue
			}
		case <-timeout:
			t.Fatal("Messages not closed within 5s of the violation")
		}
		break
	}
	if ce := c.ending.Load(); ce == nil || ce.OK() {
		t.Fatalf("Messages closed early; the connection's end = %v, want a failure", ce)
	}
	go func() { _ = c.Close(1000, "") }()
}
