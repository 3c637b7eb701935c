package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/nats-io/nats.go"

	"github.com/tetherws/tether/runtime"
	"github.com/tetherws/tether/runtime/hub"
	"github.com/tetherws/tether/runtime/hub/natsbroker"
	"github.com/tetherws/tether/ws"
)

const (
	subjectPrefix = "tether.chat."
	slowLimit     = 32       // messages skipped in a row before a member is dropped
	maxName       = 24       // runes in a nickname
	maxText       = 1000     // runes in a chat message
	maxMessage    = 16 << 10 // bytes in a received WebSocket message
	stopTimeout   = 5 * time.Second
)

var roomName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

func main() {
	addr := flag.String("addr", "127.0.0.1:8001", "address to listen on")
	natsURL := flag.String("nats", nats.DefaultURL, "NATS server URL(s), comma-separated")
	verbose := flag.Bool("v", false, "log connections and NATS events")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	log := slog.New(slog.DiscardHandler)
	if *verbose {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	broker, err := natsbroker.Connect(*natsURL, &natsbroker.Options{Prefix: subjectPrefix, Logger: log},
		nats.Name("natschat "+*addr))
	if err != nil {
		fmt.Fprintln(os.Stderr, "natschat:", err)
		os.Exit(1)
	}
	defer broker.Close()

	ready := make(chan string, 1)
	errc := make(chan error, 1)
	go func() { errc <- run(ctx, *addr, broker, log, ready) }()
	select {
	case u := <-ready:
		fmt.Printf("natschat: rooms at %s<room>?name=<nickname>, shared through %s (Ctrl-C to stop)\n", u, broker.Conn().ConnectedUrlRedacted())
	case err := <-errc:
		fmt.Fprintln(os.Stderr, "natschat:", err)
		os.Exit(1)
	}
	if err := <-errc; err != nil {
		fmt.Fprintln(os.Stderr, "natschat:", err)
		os.Exit(1)
	}
	fmt.Println("natschat: stopped")
}

// run serves the chat rooms on addr until ctx ends, sharing them with the
// other instances through broker, then shuts down gracefully. Once
// listening, it sends the rooms' base URL on ready.
func run(ctx context.Context, addr string, broker hub.Broker, log *slog.Logger, ready chan<- string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	h := hub.New(hub.Options{Broker: broker, SlowLimit: slowLimit, Logger: log})
	defer h.Close()

	instance := ln.Addr().String()
	var rt runtime.Router
	rt.Handle("/chat/{room}", func(ctx context.Context, c *runtime.Conn) error {
		return serveMember(ctx, h, instance, c)
	})
	srv := &runtime.Server{
		Handler:     rt.Serve,
		CloseReason: "chat instance stopping",
		Options: runtime.ServerOptions{
			Options:        runtime.Options{MaxMessageSize: maxMessage, Logger: log},
			ProcessRequest: runtime.ChainProcessRequest(rt.ProcessRequest, checkRoom),
		},
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	ready <- "ws://" + instance + "/chat/"

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	err = srv.Shutdown(sctx)
	if serr := <-served; !errors.Is(serr, runtime.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}

// checkRoom answers 400 for a room name that is not 1 to 64 letters,
// digits, "-" or "_" (it runs after the router has set the path values).
func checkRoom(_ context.Context, r *http.Request) (*runtime.Response, error) {
	if !roomName.MatchString(r.PathValue("room")) {
		return &runtime.Response{Status: http.StatusBadRequest, Body: []byte("room names are 1 to 64 letters, digits, - or _\n")}, nil
	}
	return nil, nil
}

// serveMember runs one member of a room: it joins the room's topic, says
// so, then says each text message received, until the connection ends.
func serveMember(ctx context.Context, h *hub.Hub, instance string, c *runtime.Conn) error {
	topic := "room." + c.Request().PathValue("room")
	name := cleanName(c.Request().URL.Query().Get("name"))
	if err := h.Subscribe(c, topic); err != nil {
		return err
	}
	say := func(ctx context.Context, text string) {
		if err := h.Publish(ctx, topic, ws.OpText, []byte(text)); err != nil {
			c.Logger().Warn("natschat: publish", "err", err)
		}
	}
	say(ctx, fmt.Sprintf("* %s joined on %s", name, instance))
	for m := range c.Messages() {
		if m.IsText() {
			if text := cleanText(m.Text()); text != "" {
				say(ctx, name+": "+text)
			}
		}
		m.Release()
	}
	// The connection has ended (and left the topic): its ctx is done,
	// the room still hears about it.
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopTimeout)
	defer cancel()
	say(lctx, fmt.Sprintf("* %s left", name))
	return nil
}

// cleanName trims a nickname, turns white space into single spaces, drops
// control characters and bounds its length; the empty name becomes
// "anonymous".
func cleanName(s string) string {
	s = strings.Join(strings.Fields(strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return ' '
		}
		return dropControl(r)
	}, s)), " ")
	if s = truncate(s, maxName); s == "" {
		return "anonymous"
	}
	return s
}

// cleanText trims a chat message, drops control characters but new lines
// and tabs, and bounds its length.
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
