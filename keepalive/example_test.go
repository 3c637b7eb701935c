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

// A Loop is the policy for an owner that stops it itself, as runtime.Conn
// does on each connection's keepalive goroutine when the connection ends.
func ExampleLoop() {
	pongs := make(chan time.Duration, 3)
	l := keepalive.NewLoop(keepalive.Policy{Interval: 10 * time.Millisecond, Timeout: time.Second},
		echoPinger{latency: 2 * time.Millisecond}, nil,
		func(latency time.Duration) {
			select {
			case pongs <- latency:
			default: // nobody reads any more
			}
		})
	done := make(chan error, 1)
	go func() { done <- l.Run() }()
	for range 2 {
		fmt.Println("pong after", <-pongs)
	}
	l.Stop() // the connection ended
	fmt.Println("Run returned", <-done)
	// Output:
	// pong after 2ms
	// pong after 2ms
	// Run returned <nil>
}
