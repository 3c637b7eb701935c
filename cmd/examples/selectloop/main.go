package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tetherws/tether"
)

func main() {
	url := flag.String("url", "ws://127.0.0.1:9001/", "WebSocket URL to connect to")
	every := flag.Duration("every", time.Second, "time between two messages sent")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if err := run(ctx, *url, *every, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "selectloop:", err)
		os.Exit(1)
	}
}

// run connects to url and runs the select loop until ctx ends or the
// connection does. It returns conn.Err(): nil after a clean close.
func run(ctx context.Context, url string, every time.Duration, out io.Writer) error {
	conn, _, err := tether.Dial(ctx, url, nil)
	if err != nil {
		return err
	}
	defer conn.CloseNow() // a no-op once the connection has ended
	fmt.Fprintf(out, "connected to %s\n", url)

	ticker := time.NewTicker(every)
	defer ticker.Stop()
	n := 0
	for {
		select {
		case msg, ok := <-conn.Messages():
			if !ok { // the server closed the connection, or it broke
				err := conn.Err()
				fmt.Fprintf(out, "connection ended: %v\n", describe(conn, err))
				return err
			}
			fmt.Fprintf(out, "< %s\n", msg.Data)
			msg.Release()

		case t := <-ticker.C:
			n++
			text := fmt.Sprintf("tick %d at %s", n, t.Format(time.TimeOnly))
			// Send waits while the write queue is full; ctx bounds the
			// wait. An error means the connection is ending: the next
			// turn of the loop sees Messages() closed.
			if err := conn.SendText(ctx, text); err == nil {
				fmt.Fprintf(out, "> %s\n", text)
			}

		case <-ctx.Done():
			// Close sends 1000, waits for the server's close frame (at
			// most CloseTimeout) and returns once the connection ended.
			if err := conn.Close(tether.CloseNormal, "bye"); err != nil {
				return err
			}
			err := conn.Err()
			fmt.Fprintf(out, "closed: %v\n", describe(conn, err))
			return err
		}
	}
}

// describe says how the connection ended.
func describe(conn *tether.Conn, err error) string {
	if err != nil {
		return "error: " + err.Error()
	}
	return "clean close (" + conn.CloseStatus().Error() + ")"
}
