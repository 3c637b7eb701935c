package reconnect_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/tetherws/tether/internal/fakeclock"
	"github.com/tetherws/tether/reconnect"
	"github.com/tetherws/tether/runtime"
	"github.com/tetherws/tether/ws"
)

func TestConnectionsYieldsSuccessiveConnections(t *testing.T) {
	var n atomic.Int32
	srv := newTestServer(t, func(ctx context.Context, c *runtime.Conn) error {
		return c.SendText(ctx, fmt.Sprintf("hello %d", n.Add(1))) // then close
	})
	ev := newEvents()
	clk := fakeclock.New(epoch)
	var got []string
	var conns []*runtime.Conn
	for c, err := range reconnect.Connections(testCtx(t), srv.url(), &reconnect.Options{OnEvent: ev.on, Clock: clk}) {
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		for m := range c.Messages() {
			got = append(got, m.Text())
		}
		if len(got) == 3 {
			break
		}
		clk.Advance(reconnect.DefaultStableAfter) // the body ran long enough
	}
	if fmt.Sprint(got) != "[hello 1 hello 2 hello 3]" {
		t.Fatalf("got %q", got)
	}
	// As in Python, the next connection is dialed at once after a body
	// that ran for StableAfter continues: no Retrying event.
	for i := range 3 {
		if c := ev.next(t, reconnect.Connected).Conn; c != conns[i] {
			t.Fatal("Connected event for another connection")
		}
		if d := ev.next(t, reconnect.Disconnected); d.Close.Code() != ws.CloseNormal {
			t.Fatalf("Disconnected %v", d)
		}
	}
	if len(ev) != 0 {
		t.Fatalf("unexpected event %v", <-ev)
	}
}

func TestConnectionsClosesEachConnectionWith1000(t *testing.T) {
	srv := newTestServer(t, nil)
	var conns []*runtime.Conn
	// StableAfter < 0: each continue redials at once, as in Python.
	for c, err := range reconnect.Connections(testCtx(t), srv.url(), &reconnect.Options{OnConnect: subscribe, StableAfter: -1}) {
		if err != nil {
			t.Fatal(err)
		}
		<-srv.subs
		conns = append(conns, c)
		if len(conns) == 2 {
			break
		}
		// continue with the connection still open
	}
	for i, c := range conns {
		<-c.Done()
		if st := c.CloseStatus(); st.Sent == nil || st.Sent.Code != ws.CloseNormal || c.Err() != nil {
			t.Fatalf("connection %d: %v, %v", i, st, c.Err())
		}
	}
}

func TestConnectionsYieldsAFatalErrorOnce(t *testing.T) {
	srv := newTestServer(t, nil)
	srv.reject(status(403))
	n := 0
	for c, err := range reconnect.Connections(testCtx(t), srv.url(), nil) {
		n++
		var se *ws.StatusError
		if c != nil || !errors.As(err, &se) || se.StatusCode() != 403 {
			t.Fatalf("yielded %v, %v", c, err)
		}
	}
	if n != 1 {
		t.Fatalf("%d iterations", n)
	}
}

func TestConnectionsEndsWhenCancelled(t *testing.T) {
	clk := fakeclock.New(epoch)
	ctx, cancel := context.WithCancel(context.Background())
	opts := &reconnect.Options{Clock: clk, OnEvent: func(e reconnect.Event) {
		if e.Kind == reconnect.Retrying {
			cancel()
		}
	}}
	for c, err := range reconnect.Connections(ctx, refusedURL(t), opts) {
		t.Fatalf("yielded %v, %v", c, err)
	}
	if clk.Pending() != 0 {
		t.Fatal("backoff timer left running")
	}
}
