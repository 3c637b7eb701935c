package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tetherws/tether/runtime"
	"github.com/tetherws/tether/ws"
)

// record is what one side saw of one connection, found by the id in the
// connection's URL (?id=…).
type record struct {
	once sync.Once
	done chan struct{}

	mu          sync.Mutex
	status      int    // handshake status answered by tether's server
	subprotocol string // negotiated, as tether's server saw it
	reqExt      string // Sec-WebSocket-Extensions offered by the client
	respExt     string // Sec-WebSocket-Extensions answered by the server
	close       *ws.CloseError
	// Set from a peer server's "closed" event.
	peerCode   *int
	peerReason string
}

func (r *record) finish() { r.once.Do(func() { close(r.done) }) }

// wait returns once the record is complete, or ctx's error.
func (r *record) wait(ctx context.Context) error {
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for the other side's record: %w", ctx.Err())
	}
}

type registry struct {
	mu sync.Mutex
	m  map[string]*record
}

func newRegistry() *registry { return &registry{m: make(map[string]*record)} }

func (g *registry) get(id string) *record {
	g.mu.Lock()
	defer g.mu.Unlock()
	r := g.m[id]
	if r == nil {
		r = &record{done: make(chan struct{})}
		g.m[id] = r
	}
	return r
}

// tetherServer serves the browser page and three WebSocket endpoints with
// tether's runtime.Server as an http.Handler:
//
//	/echo    echo with commands (cmd:info, cmd:ping, cmd:close:CODE:REASON)
//	/proto   the same, with subprotocols chat.v2, chat.v1
//	/origin  the same, accepting only Origin http://allowed.example
type tetherServer struct {
	reg     *registry
	base    string // ws://127.0.0.1:PORT
	page    string // http://127.0.0.1:PORT/
	hs      *http.Server
	servers []*runtime.Server
	serveCh chan error
}

func startTetherServer(dir string) (*tetherServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	ts := &tetherServer{
		reg:     newRegistry(),
		base:    "ws://" + ln.Addr().String(),
		page:    "http://" + ln.Addr().String() + "/",
		serveCh: make(chan error, 1),
	}
	mk := func(hs ws.ServerHandshake) *runtime.Server {
		s := &runtime.Server{Handler: ts.echo}
		s.Options.MaxMessageSize = maxMessageSize
		s.Options.Handshake = hs
		s.Options.ProcessResponse = ts.recordResponse
		ts.servers = append(ts.servers, s)
		return s
	}
	mux := http.NewServeMux()
	mux.Handle("/echo", mk(ws.ServerHandshake{}))
	mux.Handle("/proto", mk(ws.ServerHandshake{Subprotocols: subprotocolsServer}))
	mux.Handle("/origin", mk(ws.ServerHandshake{Origins: []string{originAllowed}}))
	page := filepath.Join(dir, "browser", "index.html")
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) { http.ServeFile(w, r, page) })
	ts.hs = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { ts.serveCh <- ts.hs.Serve(ln) }()
	return ts, nil
}

func (ts *tetherServer) shutdown(ctx context.Context) error {
	err := ts.hs.Shutdown(ctx)
	for _, s := range ts.servers {
		err = errors.Join(err, s.Shutdown(ctx))
	}
	if serr := <-ts.serveCh; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}

// recordResponse notes the handshake's answer; a rejected handshake
// completes its record.
func (ts *tetherServer) recordResponse(_ context.Context, r *http.Request, resp *runtime.Response) (*runtime.Response, error) {
	rec := ts.reg.get(r.URL.Query().Get("id"))
	rec.mu.Lock()
	rec.status = resp.Status
	rec.reqExt = r.Header.Get("Sec-WebSocket-Extensions")
	rec.respExt = resp.Header.Get("Sec-WebSocket-Extensions")
	rec.subprotocol = resp.Header.Get("Sec-WebSocket-Protocol")
	rec.mu.Unlock()
	if resp.Status != http.StatusSwitchingProtocols {
		rec.finish()
	}
	return nil, nil
}

// echo echoes every message and obeys the text commands; when the
// connection ends it records the close frames sent and received.
func (ts *tetherServer) echo(ctx context.Context, c *runtime.Conn) error {
	rec := ts.reg.get(c.Request().URL.Query().Get("id"))
	defer func() {
		rec.mu.Lock()
		rec.close = c.CloseStatus()
		rec.mu.Unlock()
		rec.finish()
	}()
	for m := range c.Messages() {
		if cmd, ok := strings.CutPrefix(string(m.Data), "cmd:"); ok && m.IsText() {
			m.Release()
			done, err := ts.command(ctx, c, cmd)
			if err != nil || done {
				return err
			}
			continue
		}
		err := c.Send(ctx, m.Type, m.Data)
		m.Release()
		if err != nil {
			return nil // the connection ended; its close status says how
		}
	}
	// Messages is closed: the connection ended. Done follows when its
	// goroutines have returned; CloseStatus is valid then.
	<-c.Done()
	return nil
}

// command runs one text command; done means the connection was closed.
func (ts *tetherServer) command(ctx context.Context, c *runtime.Conn, cmd string) (done bool, err error) {
	switch {
	case cmd == "info":
		b, _ := json.Marshal(map[string]string{
			"subprotocol": c.Subprotocol(),
			"extensions":  c.Response().Header.Get("Sec-WebSocket-Extensions"),
		})
		return false, c.SendText(ctx, string(b))
	case cmd == "ping":
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		lat, perr := c.Ping(pctx, []byte("tether-ping"))
		cancel()
		reply := fmt.Sprintf("ping-ok %v", lat)
		if perr != nil {
			reply = "ping-fail: " + perr.Error()
		}
		return false, c.SendText(ctx, reply)
	case strings.HasPrefix(cmd, "close:"):
		parts := strings.SplitN(cmd, ":", 3)
		code, cerr := strconv.Atoi(parts[1])
		if cerr != nil || len(parts) != 3 {
			return false, c.SendText(ctx, "bad command")
		}
		// Close waits until the connection has ended.
		return true, c.Close(ws.CloseCode(code), parts[2])
	}
	return false, c.SendText(ctx, "unknown command")
}
