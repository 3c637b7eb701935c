package reconnect_test

import (
	"context"
	"testing"

	"github.com/tetherws/tether/reconnect"
	"github.com/tetherws/tether/runtime"
)

// The supervisor's Messages has the capacity a connection's would:
// DialOptions.MaxQueue, 0 for the default, negative for none.
func TestSupervisorQueueFollowsMaxQueue(t *testing.T) {
	url := refusedURL(t)
	for _, tc := range []struct{ maxQueue, want int }{
		{0, runtime.DefaultMaxQueue},
		{5, 5},
		{-1, 0},
	} {
		o := &reconnect.Options{Backoff: reconnect.Constant(0)}
		o.Dial.MaxQueue = tc.maxQueue
		sup, err := reconnect.New(context.Background(), url, o)
		if err != nil {
			t.Fatal(err)
		}
		if got := cap(sup.Messages()); got != tc.want {
			t.Errorf("MaxQueue %d: capacity %d, want %d", tc.maxQueue, got, tc.want)
		}
		sup.Close()
	}
}
