package keepalive_test

import (
	"context"
	"fmt"
	"time"

	"github.com/tetherws/tether/keepalive"
)

// echoPinger answers every ping at once, reporting a fixed latency.
type echoPinger struct{ latency time.Duration }

func (p echoPinger) SendPing(pong func(time.Duration)) error {
	pong(p.latency)
	return nil
}

func (echoPinger) SendPong() error { return nil }

// Run drives any Pinger; runtime.Conn runs it for every connection with
// Options.PingInterval, PingTimeout and Heartbeat.
func ExampleRun() {
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	err := keepalive.Run(ctx, keepalive.Policy{Interval: 10 * time.Millisecond, Timeout: time.Second},
		echoPinger{latency: 3 * time.Millisecond}, nil,
		func(latency time.Duration) {
			fmt.Println("pong after", latency)
			if n++; n == 3 {
				cancel()
			}
		})
	fmt.Println("Run returned", err)
	// Output:
	// pong after 3ms
	// pong after 3ms
	// pong after 3ms
	// Run returned <nil>
}
