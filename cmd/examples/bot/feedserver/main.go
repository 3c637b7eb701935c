package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tetherws/tether"
)

func main() {
	addr := flag.String("addr", "localhost:9001", "listen address")
	interval := flag.Duration("interval", time.Second, "time between messages")
	flag.Parse()
	log.SetFlags(log.Ltime | log.Lmicroseconds)

	pid := os.Getpid()
	var seq atomic.Int64
	srv := &tether.Server{Handler: func(ctx context.Context, c *tether.Conn) error {
		subscribed := make(chan string, 1)
		go func() {
			for m := range c.Messages() {
				if topic, ok := strings.CutPrefix(m.Text(), "subscribe "); ok {
					if c.SendText(ctx, "subscribed "+topic) == nil {
						log.Printf("%s subscribed to %q", c.RemoteAddr(), topic)
						select {
						case subscribed <- topic:
						default: // already subscribed
						}
					}
				}
			}
		}()
		var topic string
		select {
		case topic = <-subscribed:
		case <-ctx.Done():
			return nil
		}
		t := time.NewTicker(*interval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				msg := fmt.Sprintf("%s #%d from server %d", topic, seq.Add(1), pid)
				if err := c.SendText(ctx, msg); err != nil {
					return nil
				}
			case <-ctx.Done():
				return nil
			}
		}
	}}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("feed server %d listening on %s", pid, ln.Addr())
	go func() {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		<-ctx.Done()
		log.Print("shutting down")
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); err != nil && err != tether.ErrServerClosed {
		log.Fatal(err)
	}
}
