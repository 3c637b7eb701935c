package runtime

import (
	"context"
	"errors"
	"log"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tetherws/tether/ws"
)

// logRecord is a record a recorder kept: its attributes, those of the
// logger's With calls included, as strings.
type logRecord struct {
	level slog.Level
	msg   string
	attrs map[string]string
}

// records is what a recorder and the loggers made from it keep.
type records struct {
	mu   sync.Mutex
	recs []logRecord
}

// recorder is a slog.Handler that keeps every record at level and above.
type recorder struct {
	level slog.Level
	attrs []slog.Attr
	store *records
}

func newRecorder(level slog.Level) *recorder { return &recorder{level: level, store: &records{}} }

func (h *recorder) logger() *slog.Logger { return slog.New(h) }

func (h *recorder) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *recorder) Handle(_ context.Context, r slog.Record) error {
	rec := logRecord{level: r.Level, msg: r.Message, attrs: make(map[string]string)}
	for _, a := range h.attrs {
		rec.attrs[a.Key] = a.Value.String()
	}
	r.Attrs(func(a slog.Attr) bool {
		rec.attrs[a.Key] = a.Value.String()
		return true
	})
	h.store.mu.Lock()
	h.store.recs = append(h.store.recs, rec)
	h.store.mu.Unlock()
	return nil
}

func (h *recorder) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &recorder{level: h.level, attrs: append(slices.Clip(h.attrs), attrs...), store: h.store}
}

func (h *recorder) WithGroup(string) slog.Handler { return h }

// all returns the records kept so far.
func (h *recorder) all() []logRecord {
	h.store.mu.Lock()
	defer h.store.mu.Unlock()
	return slices.Clone(h.store.recs)
}

// find returns the records with message msg.
func (h *recorder) find(msg string) []logRecord {
	var out []logRecord
	for _, r := range h.all() {
		if r.msg == msg {
			out = append(out, r)
		}
	}
	return out
}

// wait waits until a record with message msg has been kept, and returns
// it.
func (h *recorder) wait(t *testing.T, msg string) logRecord {
	t.Helper()
	eventually(t, "a record "+msg, func() bool { return len(h.find(msg)) > 0 })
	return h.find(msg)[0]
}

// useDefaultRecorder makes a recorder (taking every level) slog's default
// handler until the test ends. slog.SetDefault also redirects package
// log's output, which restoring the old default does not undo: the
// cleanup puts it back too.
func useDefaultRecorder(t *testing.T) *recorder {
	old, oldOut, oldFlags := slog.Default(), log.Writer(), log.Flags()
	rec := newRecorder(slog.LevelDebug)
	slog.SetDefault(rec.logger())
	t.Cleanup(func() {
		slog.SetDefault(old)
		log.SetOutput(oldOut)
		log.SetFlags(oldFlags)
	})
	return rec
}

// handlerThatPanics is a Handler whose panic the server logs with its
// stack: the test finds this function's name in it.
func handlerThatPanics(context.Context, *Conn) error { panic("handler exploded") }

func TestPanickingHandlerStackReachesTheDefaultLogger(t *testing.T) {
	rec := useDefaultRecorder(t)
	url := startServer(t, &Server{Handler: handlerThatPanics}) // no Logger
	c := dial(t, url, nil)
	// The server logs before it closes with 1011.
	wantEnd(t, "client", c, "received 1011 (internal error); then sent 1011 (internal error)", false)

	got := rec.find("connection handler failed")
	if len(got) != 1 {
		t.Fatalf("default logger got %d records %q, want 1", len(got), "connection handler failed")
	}
	r := got[0]
	if r.level != slog.LevelError || r.attrs["panic"] != "handler exploded" {
		t.Errorf("record: level %v, panic %q", r.level, r.attrs["panic"])
	}
	if !strings.Contains(r.attrs["stack"], "handlerThatPanics") || !strings.Contains(r.attrs["stack"], "runHandler") {
		t.Errorf("stack does not show the handler and its caller:\n%s", r.attrs["stack"])
	}
	if r.attrs["conn"] == "" || r.attrs["remote"] != c.LocalAddr().String() {
		t.Errorf("record attributes conn %q, remote %q (client at %s)", r.attrs["conn"], r.attrs["remote"], c.LocalAddr())
	}
	for _, r := range rec.all() {
		if r.level < slog.LevelWarn {
			t.Errorf("default logger got %v record %q: nil Logger passes Warn and above only", r.level, r.msg)
		}
	}
}

func TestHandlerErrorReachesTheDefaultLogger(t *testing.T) {
	rec := useDefaultRecorder(t)
	url := startServer(t, &Server{Handler: func(context.Context, *Conn) error {
		return errors.New("database unreachable")
	}})
	c := dial(t, url, nil)
	wantEnd(t, "client", c, "received 1011 (internal error); then sent 1011 (internal error)", false)
	got := rec.find("connection handler failed")
	if len(got) != 1 || got[0].level != slog.LevelError || got[0].attrs["err"] != "database unreachable" {
		t.Fatalf("records %+v, want one Error with the handler's error", got)
	}
}

func TestDiscardLoggerSilencesEvenErrors(t *testing.T) {
	rec := useDefaultRecorder(t)
	url := startServer(t, &Server{
		Handler: handlerThatPanics,
		Options: ServerOptions{Options: Options{Logger: slog.New(slog.DiscardHandler)}},
	})
	c := dial(t, url, &DialOptions{Options: Options{Logger: slog.New(slog.DiscardHandler)}})
	wantEnd(t, "client", c, "received 1011 (internal error); then sent 1011 (internal error)", false)
	if got := rec.all(); len(got) != 0 {
		t.Fatalf("the default logger got %+v despite a discard Logger", got)
	}
}

func TestKeepaliveTimeoutIsAWarningOnTheDefaultLogger(t *testing.T) {
	rec := useDefaultRecorder(t)
	clock := newFakeClock()
	c, peer := dialRaw(t, &DialOptions{Options: Options{
		PingInterval:   time.Hour,
		PingTimeout:    time.Minute,
		CloseTimeout:   100 * time.Millisecond,
		KeepaliveClock: clock,
	}})
	clock.next(t).fire()
	peer.expect(ws.OpPing) // never answered
	clock.next(t).fire()
	peer.expectClose(ws.CloseInternalError, "keepalive ping timeout")
	_ = waitDone(t, c)
	r := rec.wait(t, "keepalive ping timeout: failing the connection")
	if r.level != slog.LevelWarn || r.attrs["conn"] != c.ID() || r.attrs["timeout"] != "1m0s" {
		t.Fatalf("record %+v, want a Warn for connection %s with the timeout", r, c.ID())
	}
}

func TestFailedTLSHandshakeIsAWarningUnlessTheClientHungUp(t *testing.T) {
	serverTLS, _ := selfSigned(t)
	rec := newRecorder(slog.LevelDebug)
	s := &Server{Handler: echoHandler, TLSConfig: serverTLS, Options: ServerOptions{Options: Options{Logger: rec.logger()}}}
	addr := hostOf(startServer(t, s))

	// Plain HTTP to the TLS port: a failure worth a warning.
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = nc.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	r := rec.wait(t, "TLS handshake failed")
	nc.Close()
	if r.level != slog.LevelWarn || r.attrs["remote"] != nc.LocalAddr().String() || !strings.Contains(r.attrs["err"], "TLS handshake") {
		t.Fatalf("record %+v, want a Warn with the remote address and the error", r)
	}

	// A client that connects and hangs up (a health check): Debug.
	nc2, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	nc2.Close()
	eventually(t, "a second record", func() bool { return len(rec.find("TLS handshake failed")) == 2 })
	if r := rec.find("TLS handshake failed")[1]; r.level != slog.LevelDebug {
		t.Fatalf("hang-up logged at %v, want Debug", r.level)
	}
	if st := s.Stats(); st.Failed != 2 || st.Rejected != 0 || st.Opened != 0 {
		t.Fatalf("Stats = %+v, want 2 failed handshakes", st)
	}
}

// messages returns the messages of the records whose conn attribute is
// id, in order.
func messagesOf(recs []logRecord, id string) []string {
	var out []string
	for _, r := range recs {
		if r.attrs["conn"] == id {
			out = append(out, r.msg)
		}
	}
	return out
}

// wantInOrder checks that got holds every line of want, in that order
// (other lines may come between).
func wantInOrder(t *testing.T, side string, got, want []string) {
	t.Helper()
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	if i < len(want) {
		t.Errorf("%s: missing %q (after %q) in:\n%s", side, want[i], want[:i], strings.Join(got, "\n"))
	}
}

func TestDebugLogsTheHandshakeEveryFrameAndTheStateChanges(t *testing.T) {
	srvLog, cliLog := newRecorder(slog.LevelDebug), newRecorder(slog.LevelDebug)
	conns := make(chan *Conn, 1)
	url := startServer(t, &Server{
		Handler: func(ctx context.Context, c *Conn) error { conns <- c; return echoHandler(ctx, c) },
		Options: ServerOptions{Options: Options{Logger: srvLog.logger()}},
	})
	c := dial(t, url, &DialOptions{
		Options: Options{Logger: cliLog.logger()},
		Header:  map[string][]string{"Authorization": {"Bearer s3cret"}},
	})
	sc := <-conns
	if err := c.SendText(testCtx(t), "hello"); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, c); m.Text() != "hello" {
		t.Fatalf("echo %q", m.Data)
	}
	if _, err := c.Ping(testCtx(t), []byte("tick")); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(ws.CloseNormal, "bye"); err != nil {
		t.Fatal(err)
	}
	_ = waitDone(t, sc)

	host := hostOf(url)
	wantInOrder(t, "client", messagesOf(cliLog.all(), c.ID()), []string{
		"> GET / HTTP/1.1",
		"> Host: " + host,
		"> Authorization: [redacted]",
		"> Upgrade: websocket",
		"< HTTP/1.1 101 Switching Protocols",
		"< Upgrade: websocket",
		"= connection is OPEN",
		"> TEXT 'hello' [5 bytes]",
		"< TEXT 'hello' [5 bytes]",
		"> PING 'tick' [text, 4 bytes]",
		"< PONG 'tick' [text, 4 bytes]",
		"> CLOSE 1000 (OK) 'bye' [5 bytes]",
		"= connection is CLOSING",
		"< CLOSE 1000 (OK) 'bye' [5 bytes]",
		"= connection is CLOSED",
	})
	eventually(t, "the server's last line", func() bool {
		return slices.Contains(messagesOf(srvLog.all(), sc.ID()), "= connection is CLOSED")
	})
	wantInOrder(t, "server", messagesOf(srvLog.all(), sc.ID()), []string{
		"< GET / HTTP/1.1",
		"< Host: " + host,
		"< Authorization: [redacted]",
		"> HTTP/1.1 101 Switching Protocols",
		"> Upgrade: websocket",
		"= connection is OPEN",
		"< TEXT 'hello' [5 bytes]",
		"> TEXT 'hello' [5 bytes]",
		"< PING 'tick' [text, 4 bytes]",
		"> PONG 'tick' [text, 4 bytes]",
		"< CLOSE 1000 (OK) 'bye' [5 bytes]",
		"> CLOSE 1000 (OK) 'bye' [5 bytes]",
		"= connection is CLOSED",
	})
	for _, side := range []struct {
		name   string
		recs   []logRecord
		id     string
		remote string
	}{
		{"client", cliLog.all(), c.ID(), c.RemoteAddr().String()},
		{"server", srvLog.all(), sc.ID(), sc.RemoteAddr().String()},
	} {
		for _, r := range side.recs {
			if strings.Contains(r.msg, "s3cret") {
				t.Errorf("%s logged the credentials: %q", side.name, r.msg)
			}
			if r.level == slog.LevelDebug && (r.attrs["conn"] != side.id || r.attrs["remote"] != side.remote) {
				t.Errorf("%s: %q has conn %q remote %q, want %s at %s", side.name, r.msg, r.attrs["conn"], r.attrs["remote"], side.id, side.remote)
			}
		}
	}
}

func TestFrameLinesPreviewPayloadsLikePython(t *testing.T) {
	long := strings.Repeat("a", 40) + strings.Repeat("b", 40) + strings.Repeat("c", 20)
	bin := make([]byte, 30)
	for i := range bin {
		bin[i] = byte(i)
	}
	for _, tt := range []struct {
		got, want string
	}{
		{frameLine('>', ws.OpText, []byte("hello"), true), "> TEXT 'hello' [5 bytes]"},
		{frameLine('<', ws.OpText, []byte("x"), true), "< TEXT 'x' [1 byte]"},
		{frameLine('<', ws.OpText, []byte("it's\n\x00"), true), `< TEXT 'it\'s\n\x00' [6 bytes]`},
		{frameLine('<', ws.OpText, []byte(long), true),
			"< TEXT '" + strings.Repeat("a", 40) + strings.Repeat("b", 8) + "..." + strings.Repeat("b", 4) + strings.Repeat("c", 20) + "' [100 bytes]"},
		{frameLine('<', ws.OpText, []byte("héllo wörld, ünïcode"), true), "< TEXT 'héllo wörld, ünïcode' [24 bytes]"},
		{frameLine('>', ws.OpBinary, []byte{0, 1, 0xfe}, true), "> BINARY 00 01 fe [3 bytes]"},
		{frameLine('>', ws.OpBinary, bin, true),
			"> BINARY 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f ... 16 17 18 19 1a 1b 1c 1d [30 bytes]"},
		{frameLine('<', ws.OpBinary, nil, true), "< BINARY '' [0 bytes]"},
		{frameLine('<', ws.OpText, []byte("hel"), false), "< TEXT 'hel' [3 bytes, continued]"},
		{frameLine('<', ws.OpContinuation, []byte("lo"), true), "< CONT 'lo' [text, 2 bytes]"},
		{frameLine('>', ws.OpPing, []byte{0xff, 0xfe, 1, 2}, true), "> PING ff fe 01 02 [binary, 4 bytes]"},
		{frameLine('<', ws.OpPong, nil, true), "< PONG '' [0 bytes]"},
		{closeLine('<', ws.CloseFrame{Code: ws.CloseNormal, Reason: "bye"}), "< CLOSE 1000 (OK) 'bye' [5 bytes]"},
		{closeLine('>', ws.CloseFrame{Code: ws.CloseGoingAway}), "> CLOSE 1001 (going away) [2 bytes]"},
		{closeLine('<', ws.CloseFrame{Code: ws.CloseNoStatus}), "< CLOSE 1005 (no status received [internal]) [0 bytes]"},
	} {
		if tt.got != tt.want {
			t.Errorf("got  %s\nwant %s", tt.got, tt.want)
		}
	}
}
