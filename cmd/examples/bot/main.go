package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/tetherws/tether"
	"github.com/tetherws/tether/reconnect"
)

func main() {
	var (
		url     = flag.String("url", "ws://localhost:9001/", "feed to subscribe to")
		topic   = flag.String("topic", "ticks", "topic to subscribe to")
		initial = flag.Duration("initial-delay", reconnect.DefaultInitialDelay, "upper bound of the random first reconnect delay")
		minimum = flag.Duration("min-delay", reconnect.DefaultMinDelay, "second reconnect delay, then growing ×1.618")
		maximum = flag.Duration("max-delay", reconnect.DefaultMaxDelay, "longest reconnect delay")
	)
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg := config{
		url:   *url,
		topic: *topic,
		backoff: &reconnect.Exponential{
			Initial: *initial, Min: *minimum, Max: *maximum, Factor: reconnect.DefaultFactor,
		},
	}
	if err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bot:", err)
		os.Exit(1)
	}
}

type config struct {
	url     string
	topic   string
	backoff reconnect.Backoff
	// ackTimeout bounds the wait for "subscribed <topic>". Default 10 s.
	ackTimeout time.Duration
}

// run runs the bot until ctx is cancelled (nil) or a fatal error.
func run(ctx context.Context, cfg config, out io.Writer) error {
	var mu sync.Mutex
	logf := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(out, time.Now().Format("15:04:05.000")+" "+format+"\n", args...)
	}
	if cfg.ackTimeout == 0 {
		cfg.ackTimeout = 10 * time.Second
	}
	sup, err := reconnect.New(ctx, cfg.url, &reconnect.Options{
		// Runs on every new connection, before anything else is sent and
		// before its messages reach the loop below.
		OnConnect: func(ctx context.Context, c *tether.Conn) error {
			return subscribe(ctx, c, cfg, logf)
		},
		OnEvent: func(ev reconnect.Event) { logf("%s", ev) },
		Backoff: cfg.backoff,
	})
	if err != nil {
		return err
	}
	for m := range sup.Messages() {
		logf("received %q", m.Text())
		m.Release()
	}
	return sup.Err()
}

// subscribe asks for the topic and waits for the acknowledgement.
func subscribe(ctx context.Context, c *tether.Conn, cfg config, logf func(string, ...any)) error {
	if err := c.SendText(ctx, "subscribe "+cfg.topic); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.ackTimeout)
	defer cancel()
	for {
		select {
		case m, ok := <-c.Messages():
			if !ok {
				return errors.New("connection closed before the subscription was acknowledged")
			}
			if m.Text() == "subscribed "+cfg.topic {
				logf("subscribed to %q", cfg.topic)
				return nil
			}
			logf("received before the acknowledgement: %q", m.Text())
		case <-ctx.Done():
			// A timeout is retried; a cancelled bot stops.
			return fmt.Errorf("waiting for the subscription: %w", ctx.Err())
		}
	}
}
