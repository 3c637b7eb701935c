package main

import (
	"context"
	"errors"
	"expvar"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tetherws/tether"
)

// config is what run serves.
type config struct {
	addr     string       // the WebSocket server's address
	varsAddr string       // the address of /debug/vars (expvar); "" for none
	varsName string       // the name of the server's stats in expvar
	log      *slog.Logger // the connections' logger; nil for tether's default
}

// endpoints are the URLs run serves, once it listens.
type endpoints struct {
	ws, vars string // vars is "" without an expvar endpoint
}

func main() {
	cfg := config{varsName: "tether"}
	flag.StringVar(&cfg.addr, "addr", "127.0.0.1:9001", "address to listen on")
	flag.StringVar(&cfg.varsAddr, "vars", "127.0.0.1:9002", "address of the expvar endpoint /debug/vars (\"\" for none)")
	verbose := flag.Bool("v", false, "log connections")
	debug := flag.Bool("debug", false, "log handshakes and every frame")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	// Without -v, tether's default: warnings and errors (a handler's
	// panic, a keepalive timeout) go to slog.Default().
	switch {
	case *debug:
		cfg.log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	case *verbose:
		cfg.log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	ready := make(chan endpoints, 1)
	errc := make(chan error, 1)
	go func() { errc <- run(ctx, cfg, ready) }()
	select {
	case e := <-ready:
		fmt.Printf("echoserver: listening on %s (Ctrl-C to stop)\n", e.ws)
		if e.vars != "" {
			fmt.Printf("echoserver: counters at %s\n", e.vars)
		}
	case err := <-errc:
		fmt.Fprintln(os.Stderr, "echoserver:", err)
		os.Exit(1)
	}
	if err := <-errc; err != nil {
		fmt.Fprintln(os.Stderr, "echoserver:", err)
		os.Exit(1)
	}
}

// run serves the echo server until ctx ends, then shuts it down. Once
// listening, it sends the server's ws:// URL, and that of its counters,
// on ready.
func run(ctx context.Context, cfg config, ready chan<- endpoints) error {
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	srv := &tether.Server{
		Handler: echo,
		Options: tether.ServerOptions{Options: tether.Options{Logger: cfg.log}},
	}
	var vars *http.Server
	end := endpoints{ws: "ws://" + ln.Addr().String() + "/"}
	if cfg.varsAddr != "" {
		vln, err := net.Listen("tcp", cfg.varsAddr)
		if err != nil {
			_ = ln.Close()
			return err
		}
		// Server.Stats as JSON, fresh at each request, among expvar's
		// memstats and cmdline.
		expvar.Publish(cfg.varsName, srv.StatsVar())
		mux := http.NewServeMux()
		mux.Handle("GET /debug/vars", expvar.Handler())
		vars = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = vars.Serve(vln) }()
		end.vars = "http://" + vln.Addr().String() + "/debug/vars"
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	ready <- end

	select {
	case err = <-served:
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err = srv.Shutdown(sctx)
		if serr := <-served; !errors.Is(serr, tether.ErrServerClosed) && err == nil {
			err = serr
		}
	}
	if vars != nil {
		_ = vars.Close()
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
