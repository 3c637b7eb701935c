package runtime

import (
	"fmt"
	"testing"

	"github.com/tetherws/tether/ws"
)

// MaxQueue sets the capacity of Messages: 0 the default, negative none
// (an unbuffered channel, never an unbounded one).
func TestMaxQueueSetsTheCapacityOfMessages(t *testing.T) {
	for _, tc := range []struct{ maxQueue, want int }{
		{0, DefaultMaxQueue},
		{3, 3},
		{-1, 0},
	} {
		c, peer := dialRaw(t, &DialOptions{Options: Options{MaxQueue: tc.maxQueue}})
		if got := cap(c.Messages()); got != tc.want {
			t.Errorf("MaxQueue %d: capacity %d, want %d", tc.maxQueue, got, tc.want)
		}
		for i := range 3 {
			peer.send(true, ws.OpText, []byte(fmt.Sprint(i)))
		}
		for i := range 3 {
			if m := recv(t, c); m.Text() != fmt.Sprint(i) {
				t.Fatalf("MaxQueue %d: got %q, want %d", tc.maxQueue, m.Data, i)
			}
		}
		c.CloseNow()
	}
}
