package runtime

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tetherws/tether/ws"
)

func TestShutdownClosesConnectionsWith1001AndWaitsForHandlers(t *testing.T) {
	var handlersDone atomic.Int32
	started := make(chan struct{}, 4)
	srv := &Server{Handler: func(ctx context.Context, c *Conn) error {
		started <- struct{}{}
		for range c.Messages() {
		}
		handlersDone.Add(1) // work after the connection ended
		return nil
	}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	url := "ws://" + ln.Addr().String() + "/"
	var clients []*Conn
	for range 3 {
		clients = append(clients, dial(t, url, nil))
		<-started
	}
	if n := len(srv.Connections()); n != 3 {
		t.Fatalf("Connections() = %d, want 3", n)
	}
	if err := srv.Shutdown(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if n := handlersDone.Load(); n != 3 {
		t.Fatalf("Shutdown returned with %d of 3 handlers done", n)
	}
	if err := <-served; !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve = %v", err)
	}
	if n := len(srv.Connections()); n != 0 {
		t.Fatalf("Connections() after Shutdown = %d", n)
	}
	for _, c := range clients {
		wantEnd(t, "client", c, "received 1001 (going away); then sent 1001 (going away)", true)
	}
	if _, _, err := Dial(testCtx(t), url, nil); err == nil {
		t.Fatal("Dial after Shutdown succeeded")
	}
	if err := srv.Shutdown(testCtx(t)); err != nil {
		t.Fatalf("second Shutdown = %v", err)
	}
	if err := srv.Serve(ln); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve after Shutdown = %v", err)
	}
}

func TestShutdownWithACustomCloseCode(t *testing.T) {
	sink := newConnSink()
	srv := &Server{Handler: sink.handler, CloseCode: ws.CloseServiceRestart, CloseReason: "back soon"}
	url := startServer(t, srv)
	c := dial(t, url, nil)
	sink.next(t)
	if err := srv.Shutdown(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	const f = "1012 (service restart) back soon"
	wantEnd(t, "client", c, "received "+f+"; then sent "+f, false)
}

func TestHandshakeFinishingAfterShutdownBeganGets503(t *testing.T) {
	inHook := make(chan struct{})
	release := make(chan struct{})
	srv := &Server{Handler: echoHandler, Options: ServerOptions{
		ProcessRequest: func(ctx context.Context, r *http.Request) (*Response, error) {
			close(inHook)
			<-release
			return nil, nil
		},
	}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	dialed := make(chan error, 1)
	var resp *http.Response
	go func() {
		var err error
		_, resp, err = Dial(testCtx(t), "ws://"+ln.Addr().String()+"/", nil)
		dialed <- err
	}()
	<-inHook
	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(testCtx(t)) }()
	<-served // Shutdown has begun: the listener is closed
	close(release)
	err = <-dialed
	var se *ws.StatusError
	if !errors.As(err, &se) || resp.StatusCode != 503 || string(se.Body) != "Server is shutting down.\n" {
		t.Fatalf("Dial = %v", err)
	}
	if err := <-shut; err != nil {
		t.Fatal(err)
	}
}

func TestShutdownContextExpiryAbortsStuckConnections(t *testing.T) {
	sink := newConnSink()
	srv := &Server{Handler: sink.handler} // default close timeout: 10 s
	url := startServer(t, srv)
	peer := rawClient(t, url) // never answers the close frame
	sc := sink.next(t)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := srv.Shutdown(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v", err)
	}
	peer.expectClose(ws.CloseGoingAway, "")
	if _, err := peer.readFrame(); err == nil {
		t.Fatal("the stuck connection was not aborted")
	}
	if err := waitDone(t, sc); err == nil || err.Error() != "sent 1001 (going away); no close frame received" {
		t.Fatalf("server side Err = %v", err)
	}
}

func TestConnectionTrackedAfterShutdownBeganIsClosed(t *testing.T) {
	// A handshake that passed the shutdown check just before Shutdown took
	// its list of connections: the connection must still be closed.
	srv := &Server{}
	srv.init()
	srv.shutdown = true
	client, server := pair(t, nil, nil)
	srv.track(server, false)
	wantEnd(t, "client", client, "received 1001 (going away); then sent 1001 (going away)", true)
}
