package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tetherws/tether"
	"github.com/tetherws/tether/metrics/tetherprom"
)

//go:embed index.html
var page []byte

const (
	queueSize   = 64       // events queued per client before it is dropped
	maxName     = 24       // runes in a nickname
	maxText     = 1000     // runes in a chat message
	maxMessage  = 16 << 10 // bytes in a received WebSocket message
	stopTimeout = 5 * time.Second
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8765", "address to listen on")
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
		fmt.Printf("chat: open %s in two browser tabs (Ctrl-C to stop)\n", u)
	case err := <-errc:
		fmt.Fprintln(os.Stderr, "chat:", err)
		os.Exit(1)
	}
	if err := <-errc; err != nil {
		fmt.Fprintln(os.Stderr, "chat:", err)
		os.Exit(1)
	}
	fmt.Println("chat: stopped")
}

// run serves the chat on addr until ctx ends, then shuts down gracefully.
// Once listening, it sends the page's URL on ready.
func run(ctx context.Context, addr string, log *slog.Logger, ready chan<- string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}

	hub := NewHub(queueSize)
	hubCtx, stopHub := context.WithCancel(context.Background())
	hubDone := make(chan struct{})
	go func() { defer close(hubDone); hub.Run(hubCtx) }()
	defer func() { stopHub(); <-hubDone }()

	// Every WebSocket connection reports to the Prometheus metrics, served
	// on /metrics from a registry of their own.
	metrics := tetherprom.New(tetherprom.Options{})
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics)

	wsSrv := &tether.Server{
		Handler:     func(ctx context.Context, c *tether.Conn) error { return serveClient(ctx, hub, c) },
		CloseReason: "chat server stopped",
		// A Server accepts WebSocket handshakes from its own origin only
		// (the page it serves here) and from clients that send no Origin.
		Options: tether.ServerOptions{
			Options: tether.Options{MaxMessageSize: maxMessage, Logger: log, Observer: metrics.Observer()},
		},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		_, _ = w.Write(page)
	})
	mux.Handle("/ws", wsSrv)
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	httpSrv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}

	served := make(chan error, 1)
	go func() { served <- httpSrv.Serve(ln) }()
	ready <- "http://" + ln.Addr().String() + "/"

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	// Stop accepting, then close every WebSocket with 1001 and wait for
	// the handlers (http.Server does not track hijacked connections).
	err = httpSrv.Shutdown(sctx)
	if werr := wsSrv.Shutdown(sctx); err == nil {
		err = werr
	}
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}

// serveClient runs one browser tab: it joins the hub under the nickname
// of the URL (?name=), forwards each text message received to the hub, and
// sends the hub's events back from a second goroutine.
func serveClient(ctx context.Context, hub *Hub, c *tether.Conn) error {
	cl, err := hub.Join(ctx, cleanName(c.Request().URL.Query().Get("name")))
	if err != nil {
		return nil // the server or the connection is going away
	}
	pumped := make(chan struct{})
	go func() { defer close(pumped); pump(c, cl) }()

	// Read until the connection ends: Messages is closed then, whoever
	// closes it (the tab, the pump for a slow client, Shutdown).
	for msg := range c.Messages() {
		text := msg.Text()
		isText := msg.IsText()
		msg.Release()
		if !isText {
			continue
		}
		if text = cleanText(text); text != "" {
			_ = hub.Say(cl, text) // fails only once cl is gone; keep draining
		}
	}
	hub.Leave(cl)
	<-pumped
	return nil
}

// pump sends the client's queued events until it leaves. A client dropped
// for being slow is closed with 1008.
func pump(c *tether.Conn, cl *Client) {
	ctx := cl.Context()
loop:
	for {
		select {
		case b := <-cl.Queue():
			if err := c.Send(ctx, tether.OpText, b); err != nil {
				break loop // the connection is ending, or cl left
			}
		case <-ctx.Done():
			break loop
		}
	}
	if errors.Is(context.Cause(ctx), ErrTooSlow) {
		_ = c.Close(tether.ClosePolicyViolation, ErrTooSlow.Error())
	}
}

// cleanName trims a nickname, drops control characters and bounds its
// length; the empty name becomes "anonymous".
func cleanName(s string) string {
	s = strings.Join(strings.Fields(strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return ' '
		}
		return dropControl(r)
	}, s)), " ")
	s = truncate(s, maxName)
	if s == "" {
		return "anonymous"
	}
	return s
}

// cleanText trims a chat message and bounds its length.
func cleanText(s string) string {
	return truncate(strings.TrimSpace(strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return r
		}
		return dropControl(r)
	}, s)), maxText)
}

func dropControl(r rune) rune {
	if unicode.IsControl(r) {
		return -1
	}
	return r
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}
