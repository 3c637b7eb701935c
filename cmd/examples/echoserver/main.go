package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tetherws/tether"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9001", "address to listen on")
	verbose := flag.Bool("v", false, "log connections")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	log := slog.New(slog.DiscardHandler)
	if *verbose {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	ready := make(chan string, 1)
	errc := make(chan error, 1)
	go func() { errc <- run(ctx, *addr, log, ready) }()
	select {
	case u := <-ready:
		fmt.Printf("echoserver: listening on %s (Ctrl-C to stop)\n", u)
	case err := <-errc:
		fmt.Fprintln(os.Stderr, "echoserver:", err)
		os.Exit(1)
	}
	if err := <-errc; err != nil {
		fmt.Fprintln(os.Stderr, "echoserver:", err)
		os.Exit(1)
	}
}

// run serves the echo server on addr until ctx ends, then shuts it down.
// Once listening, it sends the server's ws:// URL on ready.
func run(ctx context.Context, addr string, log *slog.Logger, ready chan<- string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &tether.Server{
		Handler: echo,
		Options: tether.ServerOptions{Options: tether.Options{Logger: log}},
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	ready <- "ws://" + ln.Addr().String() + "/"

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = srv.Shutdown(sctx)
	if serr := <-served; !errors.Is(serr, tether.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}

// echo sends each message back (SendMessage: a received text message was
// validated as UTF-8 on receipt and is not validated again). ctx is
// cancelled when the connection ends.
func echo(ctx context.Context, c *tether.Conn) error {
	for msg := range c.Messages() {
		err := c.SendMessage(ctx, msg)
		msg.Release()
		if err != nil {
			return nil // the connection is ending; c.Err() will say how
		}
	}
	return nil
}
