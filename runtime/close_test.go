package runtime

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tetherws/tether/ws"
)

func TestClosingHandshakeIsReportedOnBothSides(t *testing.T) {
	tests := []struct {
		name           string
		serverCloses   bool
		code           ws.CloseCode
		reason         string
		client, server string
	}{
		{"client closes", false, ws.CloseNormal, "bye",
			"sent 1000 (OK) bye; then received 1000 (OK) bye",
			"received 1000 (OK) bye; then sent 1000 (OK) bye"},
		{"server closes", true, ws.CloseGoingAway, "",
			"received 1001 (going away); then sent 1001 (going away)",
			"sent 1001 (going away); then received 1001 (going away)"},
		{"client closes without a code", false, ws.CloseNoStatus, "",
			"sent 1005 (no status received [internal]); then received 1005 (no status received [internal])",
			"received 1005 (no status received [internal]); then sent 1005 (no status received [internal])"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client, server := pair(t, nil, nil)
			closer, other := client, server
			if tt.serverCloses {
				closer, other = server, client
			}
			if err := closer.Close(tt.code, tt.reason); err != nil {
				t.Fatalf("Close: %v", err)
			}
			wantEnd(t, "client", client, tt.client, true)
			wantEnd(t, "server", server, tt.server, true)
			if ce := other.CloseStatus(); ce.Code() != tt.code || ce.Reason() != tt.reason {
				t.Errorf("peer saw code %v reason %q", ce.Code(), ce.Reason())
			}
			for _, c := range []*Conn{client, server} {
				if s := c.State(); s != ws.StateClosed {
					t.Errorf("state after the end = %v", s)
				}
			}
		})
	}
}

func TestErrIsNilOnlyFor1000_1001_1005(t *testing.T) {
	tests := []struct {
		code   ws.CloseCode
		reason string
		clean  bool
	}{
		{ws.CloseNormal, "", true},
		{ws.CloseGoingAway, "later", true},
		{ws.CloseNoStatus, "", true},
		{ws.CloseProtocolError, "", false},
		{ws.CloseMessageTooBig, "", false},
		{ws.CloseInternalError, "oops", false},
		{ws.CloseServiceRestart, "", false},
		{3000, "registered", false},
		{4999, "private", false},
	}
	for _, tt := range tests {
		t.Run(tt.code.String(), func(t *testing.T) {
			client, server := pair(t, nil, nil)
			if err := server.Close(tt.code, tt.reason); err != nil {
				t.Fatal(err)
			}
			f := ws.CloseFrame{Code: tt.code, Reason: tt.reason}.String()
			wantEnd(t, "client", client, "received "+f+"; then sent "+f, tt.clean)
			wantEnd(t, "server", server, "sent "+f+"; then received "+f, tt.clean)
			var ce *ws.CloseError
			if !tt.clean && (!errors.As(client.Err(), &ce) || ce.Code() != tt.code || ce.Reason() != tt.reason) {
				t.Errorf("client Err code/reason = %v", client.Err())
			}
		})
	}
}

func TestCloseFromBothSidesAtOnce(t *testing.T) {
	p := newFaultPair(t, nil, nil)
	// Hold both close frames in flight until both sides have sent theirs.
	closes := make(chan unit, 2)
	p.cf.setRule(notify(isOp(ws.OpClose), hold, closes))
	p.sf.setRule(notify(isOp(ws.OpClose), hold, closes))
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _ = p.client.Close(ws.CloseNormal, "from client") }()
	go func() { defer wg.Done(); _ = p.server.Close(ws.CloseGoingAway, "from server") }()
	waitUnit(t, closes, "close frame")
	waitUnit(t, closes, "close frame")
	p.cf.release()
	p.sf.release()
	wg.Wait()
	wantEnd(t, "client", p.client, "sent 1000 (OK) from client; then received 1001 (going away) from server", true)
	wantEnd(t, "server", p.server, "sent 1001 (going away) from server; then received 1000 (OK) from client", true)
}

func TestCloseIsIdempotent(t *testing.T) {
	client, server := pair(t, nil, nil)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := client.Close(ws.CloseNormal, "once"); err != nil {
				t.Errorf("Close: %v", err)
			}
		}()
	}
	wg.Wait()
	if err := client.Close(ws.CloseGoingAway, "twice"); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := server.Close(ws.CloseGoingAway, "after the end"); err != nil {
		t.Fatalf("Close after the peer closed: %v", err)
	}
	wantEnd(t, "client", client, "sent 1000 (OK) once; then received 1000 (OK) once", true)
	wantEnd(t, "server", server, "received 1000 (OK) once; then sent 1000 (OK) once", true)
	client.CloseNow() // also harmless once closed
}

func TestCloseWithInvalidCodeOrReasonSendsNothing(t *testing.T) {
	tests := []struct {
		name   string
		code   ws.CloseCode
		reason string
	}{
		{"code 999", 999, ""},
		{"code 1004", 1004, ""},
		{"code 1006", ws.CloseAbnormal, ""},
		{"code 1015", ws.CloseTLSHandshakeFailure, ""},
		{"code 2999", 2999, ""},
		{"code 5000", 5000, ""},
		{"1005 with a reason", ws.CloseNoStatus, "why"},
		{"reason of 124 bytes", ws.CloseNormal, strings.Repeat("x", 124)},
		{"reason not UTF-8", ws.CloseNormal, "\xff"},
	}
	c, peer := dialRaw(t, nil)
	for _, tt := range tests {
		err := c.Close(tt.code, tt.reason)
		var se *ws.SendError
		if !errors.Is(err, ws.ErrInvalidSend) || !errors.As(err, &se) {
			t.Errorf("%s: Close = %v, want a *ws.SendError", tt.name, err)
		}
	}
	if s := c.State(); s != ws.StateOpen {
		t.Fatalf("state = %v after refused Close calls", s)
	}
	// The longest valid reason is fine.
	if err := c.SendText(testCtx(t), "still open"); err != nil {
		t.Fatal(err)
	}
	if f := peer.expect(ws.OpText); string(f.Payload) != "still open" {
		t.Fatalf("peer got %q", f.Payload)
	}
	long := strings.Repeat("y", ws.MaxCloseReason)
	done := make(chan error, 1)
	go func() { done <- c.Close(ws.CloseNormal, long) }()
	peer.expectClose(ws.CloseNormal, long)
	peer.send(true, ws.OpClose, closePayload(ws.CloseNormal, long))
	peer.close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestCloseTimesOutAgainstAPeerThatNeverAnswers(t *testing.T) {
	for _, side := range []string{"client", "server"} {
		t.Run(side, func(t *testing.T) {
			opts := Options{CloseTimeout: 100 * time.Millisecond}
			var c *Conn
			var peer *rawPeer
			if side == "client" {
				c, peer = dialRaw(t, &DialOptions{Options: opts})
			} else {
				c, peer = acceptRaw(t, &ServerOptions{Options: opts})
			}
			if err := c.Close(ws.CloseNormal, "bye"); err != nil {
				t.Fatal(err)
			}
			// Close returned: the connection is over.
			select {
			case <-c.Done():
			default:
				t.Fatal("Close returned before the connection ended")
			}
			err := c.Err()
			if !errors.Is(err, ErrCloseTimeout) || !errors.Is(err, ws.ErrClosed) {
				t.Fatalf("Err = %v, want the close timeout", err)
			}
			if got := err.Error(); got != "sent 1000 (OK) bye; no close frame received" {
				t.Fatalf("Err = %q", got)
			}
			peer.expectClose(ws.CloseNormal, "bye")
			if _, err := peer.readFrame(); err == nil {
				t.Fatal("peer: connection still open")
			}
		})
	}
}

func TestCloseTimesOutWhenThePeerKeepsTCPOpenButErrStaysNil(t *testing.T) {
	// The close timeout must be long enough for the server's answer to
	// arrive, even on a loaded machine.
	p := newFaultPair(t, nil, &DialOptions{Options: Options{CloseTimeout: time.Second}})
	// The server answers the close frame, but its EOF never reaches the
	// client.
	p.sf.setRule(func(u unit) action {
		if u.isEOF() {
			return drop
		}
		return pass
	})
	if err := p.client.Close(ws.CloseNormal, ""); err != nil {
		t.Fatal(err)
	}
	if err := p.client.Err(); err != nil {
		t.Fatalf("Err = %v, want nil: both close frames were exchanged", err)
	}
	st := p.client.CloseStatus()
	if st.Error() != "sent 1000 (OK); then received 1000 (OK)" || !errors.Is(st, ErrCloseTimeout) {
		t.Fatalf("close status = %v (cause %v)", st, st.Cause)
	}
	wantEnd(t, "server", p.server, "received 1000 (OK); then sent 1000 (OK)", true)
}

func TestServerHalfClosesFirstAndClientClosesAfterEOF(t *testing.T) {
	for _, initiator := range []string{"client", "server"} {
		t.Run(initiator+" closes", func(t *testing.T) {
			p := newFaultPair(t, nil, nil)
			closer := p.client
			if initiator == "server" {
				closer = p.server
			}
			if err := closer.Close(ws.CloseNormal, ""); err != nil {
				t.Fatal(err)
			}
			waitDone(t, p.client)
			waitDone(t, p.server)
			srvHalf, srvClose := p.sf.when(unitHalf), p.sf.when(unitClose)
			cliHalf, cliClose := p.cf.when(unitHalf), p.cf.when(unitClose)
			if srvHalf == 0 || cliClose == 0 || srvClose == 0 {
				t.Fatalf("server half-close %d, close %d; client close %d", srvHalf, srvClose, cliClose)
			}
			if cliHalf != 0 {
				t.Errorf("the client half-closed")
			}
			if !(srvHalf < cliClose && cliClose < srvClose) {
				t.Errorf("order: server half-close %d, client close %d, server close %d", srvHalf, cliClose, srvClose)
			}
			if p.client.Err() != nil || p.server.Err() != nil {
				t.Errorf("Err: client %v, server %v", p.client.Err(), p.server.Err())
			}
		})
	}
}

func TestConnectionLostWithoutCloseFrameIsAnError(t *testing.T) {
	c, peer := dialRaw(t, nil)
	peer.close()
	err := waitDone(t, c)
	var ce *ws.CloseError
	if !errors.As(err, &ce) || ce.Error() != "no close frame received or sent" || ce.Code() != ws.CloseAbnormal {
		t.Fatalf("Err = %v", err)
	}
	if !errors.Is(err, io.EOF) {
		t.Errorf("cause = %v, want EOF", ce.Cause)
	}
}

func TestConnectionLostInTheMiddleOfAFrameIsAnError(t *testing.T) {
	c, peer := dialRaw(t, nil)
	peer.write(appendFrame(nil, true, ws.OpBinary, make([]byte, 100), false)[:50])
	peer.close()
	err := waitDone(t, c)
	if err == nil || err.Error() != "no close frame received or sent" {
		t.Fatalf("Err = %v", err)
	}
}

func TestReceivedCloseFrameThenTCPLossOnTheServer(t *testing.T) {
	c, peer := acceptRaw(t, nil)
	peer.send(true, ws.OpClose, closePayload(ws.CloseNormal, "raw"))
	peer.expectClose(ws.CloseNormal, "raw")
	peer.expectEOF() // the server half-closes after its echo
	peer.close()
	wantEnd(t, "server", c, "received 1000 (OK) raw; then sent 1000 (OK) raw", true)
}

func TestCloseEndsEvenWhenTheApplicationDoesNotReadMessages(t *testing.T) {
	client, server := pair(t, nil, &DialOptions{Options: Options{MaxQueue: 1}})
	ctx := testCtx(t)
	for _, s := range []string{"one", "two", "three"} {
		if err := server.SendText(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	// The client reads nothing: its queue is full and its reader waits to
	// deliver "two". Close must still complete the closing handshake (not
	// wait for the 10 s close timeout, nor forever).
	closed := make(chan error, 1)
	go func() { closed <- client.Close(ws.CloseNormal, "") }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close blocked: the reader waits on the full Messages channel")
	}
	// Messages received before Close stay readable.
	if m, ok := <-client.Messages(); !ok || m.Text() != "one" {
		t.Fatalf("queued message = %q, %v", m.Data, ok)
	}
	wantEnd(t, "client", client, "sent 1000 (OK); then received 1000 (OK)", true)
	wantEnd(t, "server", server, "received 1000 (OK); then sent 1000 (OK)", true)
}

func TestCloseNowEndsAConnectionBlockedOnAFullQueue(t *testing.T) {
	client, server := pair(t, nil, &DialOptions{Options: Options{MaxQueue: 1}})
	ctx := testCtx(t)
	for _, s := range []string{"one", "two"} {
		if err := server.SendText(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	ended := make(chan struct{})
	go func() { client.CloseNow(); close(ended) }()
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Fatal("CloseNow blocked")
	}
	if err := client.Err(); err == nil || err.Error() != "no close frame received or sent" {
		t.Fatalf("Err = %v", err)
	}
	waitDone(t, server)
}

func TestHandlerContextIsCancelledWhenTheConnectionEnds(t *testing.T) {
	ctxs := make(chan context.Context, 1)
	url := startServer(t, &Server{Handler: func(ctx context.Context, c *Conn) error {
		ctxs <- ctx
		<-ctx.Done()
		return nil
	}})
	c := dial(t, url, nil)
	ctx := <-ctxs
	if ctx.Err() != nil {
		t.Fatal("handler ctx cancelled too early")
	}
	if err := c.Close(ws.CloseNormal, ""); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("handler ctx not cancelled")
	}
	if c.Context().Err() == nil {
		t.Fatal("client Context not cancelled")
	}
}

func TestWriteFailureEndsTheConnectionWithTheNetworkError(t *testing.T) {
	for _, reading := range []bool{true, false} {
		name := "reader idle"
		if !reading {
			name = "reader waiting on a full queue"
		}
		t.Run(name, func(t *testing.T) {
			p := newFaultPair(t, nil, &DialOptions{Options: Options{MaxQueue: 1}})
			if !reading {
				ctx := testCtx(t)
				for _, s := range []string{"one", "two"} {
					if err := p.server.SendText(ctx, s); err != nil {
						t.Fatal(err)
					}
				}
				// "one" fills the queue; the reader waits to deliver "two".
				eventually(t, "the reader waits to deliver two", p.client.held.Load)
			}
			p.cf.setRule(func(u unit) action { return fail })
			if err := p.client.SendText(testCtx(t), "doomed"); err != nil {
				t.Fatal(err) // queued; the writer fails later
			}
			err := waitDone(t, p.client)
			want := "no close frame received or sent"
			if !reading {
				want += "; 1 received messages not delivered" // "two"
			}
			if !errors.Is(err, errInjected) || err.Error() != want || errors.Is(err, ErrUndelivered) == reading {
				t.Fatalf("Err = %v (cause %v)", err, errors.Unwrap(err))
			}
			if s := p.client.State(); s != ws.StateClosed {
				t.Fatalf("state = %v", s)
			}
			if err := p.client.SendText(testCtx(t), "late"); !errors.Is(err, ws.ErrClosed) || !errors.Is(err, errInjected) {
				t.Fatalf("Send after the failure = %v", err)
			}
		})
	}
}
