package runtime

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tetherws/tether/ws"
)

// observed is what an eventLog's observer saw of one connection, or of
// handshakes (conn nil).
type observed struct {
	conn     *Conn
	kind     string // opened, closed, rejected, received, sent, latency, skipped
	msg      MessageEvent
	close    CloseEvent
	reject   RejectEvent
	rtt      time.Duration
	reason   error
	afterErr bool // closed: Err was already set when the hook ran
}

// eventLog records what an Observer gets, in order, and sums the bytes
// read and written per connection.
type eventLog struct {
	mu      sync.Mutex
	events  []observed
	read    map[*Conn]int
	written map[*Conn]int
}

func newEventLog() *eventLog {
	return &eventLog{read: make(map[*Conn]int), written: make(map[*Conn]int)}
}

func (l *eventLog) add(e observed) {
	l.mu.Lock()
	l.events = append(l.events, e)
	l.mu.Unlock()
}

func (l *eventLog) observer() *Observer {
	return &Observer{
		Opened: func(c *Conn) { l.add(observed{conn: c, kind: "opened"}) },
		Closed: func(c *Conn, e CloseEvent) {
			l.add(observed{conn: c, kind: "closed", close: e, afterErr: c.finished.Load()})
		},
		Rejected: func(e RejectEvent) { l.add(observed{kind: "rejected", reject: e}) },
		Received: func(c *Conn, m MessageEvent) { l.add(observed{conn: c, kind: "received", msg: m}) },
		Sent:     func(c *Conn, m MessageEvent) { l.add(observed{conn: c, kind: "sent", msg: m}) },
		Read: func(c *Conn, n int) {
			l.mu.Lock()
			l.read[c] += n
			l.mu.Unlock()
		},
		Written: func(c *Conn, n int) {
			l.mu.Lock()
			l.written[c] += n
			l.mu.Unlock()
		},
		Latency: func(c *Conn, rtt time.Duration) { l.add(observed{conn: c, kind: "latency", rtt: rtt}) },
		Skipped: func(c *Conn, reason error) { l.add(observed{conn: c, kind: "skipped", reason: reason}) },
	}
}

// of returns the events of kind (of connection c, unless c is nil).
func (l *eventLog) of(c *Conn, kind string) []observed {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []observed
	for _, e := range l.events {
		if e.kind == kind && (c == nil || e.conn == c) {
			out = append(out, e)
		}
	}
	return out
}

// kinds returns the kinds of c's events, in order.
func (l *eventLog) kinds(c *Conn) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, e := range l.events {
		if e.conn == c {
			out = append(out, e.kind)
		}
	}
	return out
}

func (l *eventLog) bytes(c *Conn) (read, written int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.read[c], l.written[c]
}

// TestObserverSeesAConnectionsLife: opened, a compressed message each
// way with its size before and after compression, a ping's round trip,
// the bytes on the wire, and the close with both codes, the initiator and
// the duration, on both sides.
func TestObserverSeesAConnectionsLife(t *testing.T) {
	srvObs, cliObs := newEventLog(), newEventLog()
	conns := make(chan *Conn, 1)
	url := startServer(t, &Server{
		Handler: func(ctx context.Context, c *Conn) error { conns <- c; return echoHandler(ctx, c) },
		Options: ServerOptions{Options: Options{Observer: srvObs.observer()}},
	})
	c := dial(t, url, &DialOptions{Options: Options{Observer: cliObs.observer(), PingInterval: -1}})
	sc := <-conns
	text := strings.Repeat("compress me ", 1000)
	if err := c.SendText(testCtx(t), text); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, c); m.Text() != text {
		t.Fatal("wrong echo")
	}
	rtt, err := c.Ping(testCtx(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(ws.CloseNormal, "done"); err != nil {
		t.Fatal(err)
	}
	_ = waitDone(t, sc)

	wantKinds := map[*Conn][]string{
		c:  {"opened", "sent", "received", "latency", "closed"},
		sc: {"opened", "received", "sent", "closed"},
	}
	for conn, want := range wantKinds {
		obs := cliObs
		if conn == sc {
			obs = srvObs
		}
		got := obs.kinds(conn)
		if conn == c && len(got) == len(want) && got[1] == "received" && got[2] == "sent" {
			// The echo may arrive (and be observed by the reader) before
			// the sender's goroutine observes its own write.
			got[1], got[2] = got[2], got[1]
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%v events %v, want %v", conn.side, got, want)
		}
	}
	sent := cliObs.of(c, "sent")[0].msg
	if sent.Type != ws.OpText || sent.Size != len(text) || !sent.First || !sent.Fin {
		t.Errorf("client sent %+v", sent)
	}
	if sent.WireSize <= 0 || sent.WireSize >= len(text)/10 {
		t.Errorf("client sent %d bytes on the wire for %d compressible ones", sent.WireSize, len(text))
	}
	if got := srvObs.of(sc, "received")[0].msg; got.Type != ws.OpText || got.Size != len(text) || got.WireSize != 0 || !got.Fin {
		t.Errorf("server received %+v", got)
	}
	if got := cliObs.of(c, "latency")[0].rtt; got != rtt {
		t.Errorf("latency hook got %v, Ping returned %v", got, rtt)
	}

	cc, sclose := cliObs.of(c, "closed")[0], srvObs.of(sc, "closed")[0]
	if !cc.afterErr || cc.close.Initiator != InitiatorLocal || cc.close.Side != ws.Client || cc.close.Duration <= 0 ||
		cc.close.Status.Error() != "sent 1000 (OK) done; then received 1000 (OK) done" {
		t.Errorf("client closed %+v (%v)", cc.close, cc.close.Status)
	}
	if sclose.close.Initiator != InitiatorPeer || sclose.close.Side != ws.Server ||
		sclose.close.Status.Error() != "received 1000 (OK) done; then sent 1000 (OK) done" {
		t.Errorf("server closed %+v (%v)", sclose.close, sclose.close.Status)
	}

	// Stats agree with the hooks, and show what compression saved.
	for _, side := range []struct {
		conn *Conn
		obs  *eventLog
	}{{c, cliObs}, {sc, srvObs}} {
		st := side.conn.Stats()
		read, written := side.obs.bytes(side.conn)
		if st.MessagesSent != 1 || st.MessagesReceived != 1 || st.MessageBytesSent != uint64(len(text)) || st.MessageBytesReceived != uint64(len(text)) {
			t.Errorf("%v stats %+v", side.conn.side, st)
		}
		if st.WireBytesSent != uint64(written) || st.WireBytesReceived != uint64(read) || written == 0 || read == 0 {
			t.Errorf("%v stats %+v; Read hooks %d bytes, Written %d", side.conn.side, st, read, written)
		}
		if st.WireBytesSent >= st.MessageBytesSent/10 {
			t.Errorf("%v wrote %d bytes for %d of payload: not compressed", side.conn.side, st.WireBytesSent, st.MessageBytesSent)
		}
	}
}

func TestObserverSeesRejectedHandshakes(t *testing.T) {
	srvObs, cliObs := newEventLog(), newEventLog()
	s := &Server{Handler: echoHandler, Options: ServerOptions{
		Options: Options{Observer: srvObs.observer()},
		ProcessRequest: func(_ context.Context, r *http.Request) (*Response, error) {
			if r.URL.Path == "/deny" {
				return &Response{Status: http.StatusForbidden}, nil
			}
			return nil, nil
		},
	}}
	url := startServer(t, s)
	_, resp, err := Dial(testCtx(t), url+"deny", &DialOptions{Options: Options{Observer: cliObs.observer()}})
	if err == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("Dial = %v, %v", resp, err)
	}
	// A request that is not a WebSocket handshake: 426 from tether. (The
	// client closes its connection, which ends the server's linger.)
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	hresp, err := hc.Get("http://" + hostOf(url) + "/")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, hresp.Body)
	hresp.Body.Close()

	cr := cliObs.of(nil, "rejected")
	if len(cr) != 1 || cr[0].reject.Side != ws.Client || cr[0].reject.Status != http.StatusForbidden ||
		!errors.As(cr[0].reject.Err, new(*ws.StatusError)) || cr[0].reject.Request.URL.Path != "/deny" {
		t.Fatalf("client rejections %+v", cr)
	}
	sr := srvObs.of(nil, "rejected")
	if len(sr) != 2 {
		t.Fatalf("server saw %d rejections, want 2", len(sr))
	}
	if r := sr[0].reject; r.Side != ws.Server || r.Status != http.StatusForbidden || r.Err != nil || r.Request.URL.Path != "/deny" || r.Remote == "" {
		t.Errorf("the hook's refusal: %+v", r)
	}
	if r := sr[1].reject; r.Status != hresp.StatusCode || !errors.Is(r.Err, ws.ErrInvalidHandshake) {
		t.Errorf("tether's refusal: %+v (the client got %d)", r, hresp.StatusCode)
	}
	// The server counts a refusal once it has closed the connection.
	eventually(t, "two refusals counted", func() bool { return s.Stats().Rejected == 2 })
	if st := s.Stats(); st.Opened != 0 || st.Failed != 0 {
		t.Errorf("Stats = %+v", st)
	}
	if n := len(srvObs.of(nil, "opened")) + len(cliObs.of(nil, "opened")); n != 0 {
		t.Errorf("%d connections opened", n)
	}
}

// TestObserverSeesQueuesAndBroadcastSkips: the backlog of Messages as
// messages arrive unread, the bytes queued behind a peer that does not
// read, and the broadcast that skips it.
func TestObserverSeesQueuesAndBroadcastSkips(t *testing.T) {
	obs := newEventLog()
	so := &ServerOptions{Options: Options{Observer: obs.observer(), WriteLimit: 8 << 10, PingInterval: -1}}
	sc, peer := acceptRaw(t, so)

	// Three messages nobody reads: the backlog grows.
	for _, s := range []string{"one", "two", "three"} {
		peer.send(true, ws.OpText, []byte(s))
	}
	eventually(t, "three deliveries", func() bool { return len(obs.of(sc, "received")) == 3 })
	for i, e := range obs.of(sc, "received") {
		if e.msg.Queued != i {
			t.Errorf("message %d: %d messages waiting ahead, want %d", i, e.msg.Queued, i)
		}
	}
	if st := sc.Stats(); st.Backlog != 3 {
		t.Errorf("Stats.Backlog = %d", st.Backlog)
	}

	// The peer does not read: broadcasts queue, then skip it.
	if err := sc.NetConn().(*net.TCPConn).SetWriteBuffer(4 << 10); err != nil {
		t.Fatal(err)
	}
	payload := make([]byte, 4<<10)
	for i := 0; len(obs.of(sc, "skipped")) == 0; i++ {
		if i > 10000 {
			t.Fatal("never skipped")
		}
		if err := Broadcast(testCtx(t), []*Conn{sc}, ws.OpBinary, payload); err != nil {
			t.Fatal(err)
		}
	}
	if r := obs.of(sc, "skipped")[0].reason; r != ErrSlowConnection {
		t.Errorf("skipped because %v", r)
	}
	sent := obs.of(sc, "sent")
	if last := sent[len(sent)-1].msg; last.Queued <= so.WriteLimit || last.WireSize != len(payload)+4 {
		t.Errorf("last broadcast: %+v, want more than WriteLimit queued behind a %d-byte frame", last, len(payload)+4)
	}
	if st := sc.Stats(); st.Queued <= so.WriteLimit {
		t.Errorf("Stats.Queued = %d", st.Queued)
	}
	peer.close()
}

func TestServerStatsSumItsConnections(t *testing.T) {
	s := &Server{Handler: echoHandler}
	url := startServer(t, s)
	a, b := dial(t, url, nil), dial(t, url, nil)
	for _, c := range []*Conn{a, b} {
		for range 3 {
			if err := c.SendText(testCtx(t), "ping"); err != nil {
				t.Fatal(err)
			}
			recv(t, c)
		}
	}
	st := s.Stats()
	if st.Open != 2 || st.Opened != 2 || st.Closed != 0 || st.MessagesReceived != 6 || st.MessagesSent != 6 ||
		st.MessageBytesReceived != 24 || st.WireBytesReceived == 0 || st.WireBytesSent == 0 {
		t.Fatalf("Stats = %+v", st)
	}
	before := st
	if err := a.Close(ws.CloseNormal, ""); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the first handler's end", func() bool { return s.Stats().Closed == 1 })
	st = s.Stats()
	if st.Open != 1 || st.Opened != 2 || st.MessagesReceived != 6 || st.MessagesSent != 6 || st.WireBytesReceived < before.WireBytesReceived {
		t.Fatalf("after one close: Stats = %+v (before %+v)", st, before)
	}
	if v := s.StatsVar().String(); !strings.Contains(v, `"open":1,"opened":2,"closed":1`) || !strings.Contains(v, `"messages_received":6`) {
		t.Fatalf("StatsVar = %s", v)
	}
}
