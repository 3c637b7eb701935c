package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tetherws/tether"
)

// piped is a run of tether connect with piped standard streams.
type piped struct {
	stdin          *io.PipeWriter
	stdout, stderr *output
	status         chan int
	cancel         context.CancelFunc
}

// startPiped runs tether connect with args in-process, its standard
// input a pipe.
func startPiped(t *testing.T, args ...string) *piped {
	t.Helper()
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	c := &piped{stdin: pw, stdout: newOutput(), stderr: newOutput(), status: make(chan int, 1), cancel: cancel}
	go func() {
		c.status <- Main(ctx, append([]string{"connect"}, args...), stdio{in: pr, out: c.stdout, err: c.stderr})
	}()
	t.Cleanup(func() {
		cancel()
		_ = pw.Close() // ends the stdin reader goroutine
		select {
		case <-c.status:
		case <-time.After(waitLimit):
			t.Error("tether connect did not return")
		}
	})
	return c
}

// send writes lines to standard input.
func (c *piped) send(t *testing.T, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if _, err := io.WriteString(c.stdin, l+"\n"); err != nil {
			t.Fatal(err)
		}
	}
}

// wait waits for the exit status.
func (c *piped) wait(t *testing.T) int {
	t.Helper()
	select {
	case s := <-c.status:
		c.status <- s // for the cleanup
		return s
	case <-time.After(waitLimit):
		t.Fatalf("tether connect did not return; stdout:\n%s\nstderr:\n%s", c.stdout, c.stderr)
		return -1
	}
}

// runPipe runs tether connect with stdin as its whole standard input.
func runPipe(t *testing.T, stdin io.Reader, args ...string) (int, string, string) {
	t.Helper()
	var out, errw bytes.Buffer
	code := Main(context.Background(), append([]string{"connect"}, args...), stdio{in: stdin, out: &out, err: &errw})
	return code, out.String(), errw.String()
}

func TestPipeGetsEveryReplyBeforeExiting(t *testing.T) {
	// The server answers slowly: the replies come after the input ends.
	url := startServer(t, tether.ServerOptions{}, nil, func(ctx context.Context, c *tether.Conn) error {
		for m := range c.Messages() {
			time.Sleep(2 * time.Millisecond) // a slow server, not synchronisation
			if err := c.SendMessage(ctx, m); err != nil {
				return nil
			}
		}
		return nil
	})
	var in strings.Builder
	var want []string
	for i := range 200 {
		fmt.Fprintf(&in, "line %d\n", i)
		want = append(want, fmt.Sprintf("line %d", i))
	}
	code, out, errOut := runPipe(t, strings.NewReader(in.String()), url)
	if code != exitOK {
		t.Fatalf("exit %d; stderr:\n%s", code, errOut)
	}
	if got := strings.Split(strings.TrimSuffix(out, "\n"), "\n"); !slices.Equal(got, want) {
		t.Fatalf("stdout has %d lines, want the 200 sent back in order:\n%s", len(got), out)
	}
	if !strings.Contains(errOut, "Connected to "+url+".\n") || !strings.HasSuffix(errOut, "Connection closed: 1000 (OK).\n") {
		t.Fatalf("stderr:\n%s", errOut)
	}
}

func TestPipeEndsWhenTheServerCloses(t *testing.T) {
	url := startServer(t, tether.ServerOptions{}, nil, func(ctx context.Context, c *tether.Conn) error {
		for i := 0; ; i++ {
			m, ok := <-c.Messages()
			if !ok {
				return nil
			}
			_ = c.SendText(ctx, "ack "+m.Text())
			if i == 1 {
				return c.Close(tether.CloseNormal, "done")
			}
		}
	})
	// stdin stays open and --wait is off: only the server's close ends it.
	c := startPiped(t, "--wait", "-1s", url)
	c.send(t, "a", "b")
	if s := c.wait(t); s != exitOK {
		t.Fatalf("exit %d; stderr:\n%s", s, c.stderr)
	}
	if out := c.stdout.String(); out != "ack a\nack b\n" {
		t.Fatalf("stdout %q", out)
	}
	c.stderr.waitFor(t, "Connection closed: 1000 (OK) done.\n")
}

func TestPipeLinesStartingWithSlashAreData(t *testing.T) {
	url := startServer(t, tether.ServerOptions{}, nil, echo)
	code, out, errOut := runPipe(t, strings.NewReader("/close 4000\n//x\r\n/ping\n"), url)
	if code != exitOK || out != "/close 4000\n//x\n/ping\n" {
		t.Fatalf("exit %d, stdout %q, stderr:\n%s", code, out, errOut)
	}
}

func TestPipeBinaryChunks(t *testing.T) {
	got := make(chan []byte, 16)
	url := startServer(t, tether.ServerOptions{}, nil, func(ctx context.Context, c *tether.Conn) error {
		for m := range c.Messages() {
			if m.Type == tether.OpBinary {
				got <- bytes.Clone(m.Data)
			}
			if err := c.SendMessage(ctx, m); err != nil {
				return nil
			}
		}
		return nil
	})
	data := make([]byte, 200_000)
	for i := range data {
		data[i] = byte(i * 7)
	}
	code, out, errOut := runPipe(t, bytes.NewReader(data), "--binary", url)
	if code != exitOK {
		t.Fatalf("exit %d; stderr:\n%s", code, errOut)
	}
	if !bytes.Equal([]byte(out), data) {
		t.Fatalf("stdout: %d bytes, want the %d sent", len(out), len(data))
	}
	var sent []byte
	for len(got) > 0 {
		m := <-got
		if len(m) > chunkSize {
			t.Errorf("a message of %d bytes, more than a chunk", len(m))
		}
		sent = append(sent, m...)
	}
	if !bytes.Equal(sent, data) {
		t.Fatalf("the server received %d bytes in binary messages, want %d", len(sent), len(data))
	}
}

func TestPipeBinaryMessagesAsHex(t *testing.T) {
	url := startServer(t, tether.ServerOptions{}, nil, func(ctx context.Context, c *tether.Conn) error {
		_ = c.SendBinary(ctx, []byte{0, 1, 0xff})
		return c.Close(tether.CloseNormal, "")
	})
	code, out, _ := runPipe(t, strings.NewReader(""), "--wait", "-1s", url)
	if code != exitOK || out != "0001ff\n" {
		t.Fatalf("exit %d, stdout %q", code, out)
	}
}

func TestPipeJSONEvents(t *testing.T) {
	url := startServer(t, tether.ServerOptions{Handshake: tether.ServerHandshake{Subprotocols: []string{"chat"}}}, nil,
		func(ctx context.Context, c *tether.Conn) error {
			m := <-c.Messages()
			_ = c.SendMessage(ctx, m)
			_ = c.SendBinary(ctx, []byte("\x00bin"))
			return c.Close(tether.CloseGoingAway, "bye")
		})
	code, out, errOut := runPipe(t, strings.NewReader("héllo\n"), "--json", "--subprotocol", "chat", "--wait", "-1s", url)
	if code != exitOK {
		t.Fatalf("exit %d; stdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if errOut != "" {
		t.Errorf("stderr in --json mode: %q", errOut)
	}
	var events []map[string]any
	dec := json.NewDecoder(strings.NewReader(out))
	for dec.More() {
		var e map[string]any
		if err := dec.Decode(&e); err != nil {
			t.Fatalf("%v in:\n%s", err, out)
		}
		if _, err := time.Parse(time.RFC3339Nano, fmt.Sprint(e["time"])); err != nil {
			t.Errorf("event %v: time: %v", e, err)
		}
		delete(e, "time")
		events = append(events, e)
	}
	want := []string{
		`{"event":"open","subprotocol":"chat","url":"` + url + `"}`,
		`{"event":"message","size":6,"text":"héllo","type":"text"}`,
		`{"binary":"AGJpbg==","event":"message","size":4,"type":"binary"}`,
		`{"clean":true,"code":1001,"event":"close","reason":"bye"}`,
	}
	if len(events) != len(want) {
		t.Fatalf("%d events, want %d:\n%s", len(events), len(want), out)
	}
	for i, e := range events {
		b, _ := json.Marshal(e)
		if string(b) != want[i] {
			t.Errorf("event %d = %s, want %s", i, b, want[i])
		}
	}
}

// rejecting is a server that refuses the handshake with a reason.
func rejecting(t *testing.T) string {
	return startServer(t, tether.ServerOptions{
		ProcessRequest: func(ctx context.Context, r *http.Request) (*tether.Response, error) {
			return &tether.Response{Status: http.StatusForbidden, Body: []byte("no token: ask for one at /login\n")}, nil
		},
	}, nil, echo)
}

func TestRejectionShowsTheServersReason(t *testing.T) {
	url := rejecting(t)
	code, out, errOut := runPipe(t, strings.NewReader(""), url)
	if code != exitFail || out != "" {
		t.Fatalf("exit %d, stdout %q", code, out)
	}
	for _, s := range []string{"Failed to connect to " + url + ": the server answered HTTP 403 Forbidden.\n", "no token: ask for one at /login\n"} {
		if !strings.Contains(errOut, s) {
			t.Errorf("no %q in stderr:\n%s", s, errOut)
		}
	}
	code, out, _ = runPipe(t, strings.NewReader(""), "--json", url)
	var e struct {
		Event  string
		Status int
		Body   string
	}
	if err := json.Unmarshal([]byte(out), &e); err != nil || code != exitFail {
		t.Fatalf("exit %d, %v: %s", code, err, out)
	}
	if e.Event != "error" || e.Status != 403 || e.Body != "no token: ask for one at /login\n" {
		t.Fatalf("--json rejection: %+v", e)
	}
}

func TestServerClosing1011Fails(t *testing.T) {
	url := startServer(t, tether.ServerOptions{}, nil, func(ctx context.Context, c *tether.Conn) error {
		return c.Close(tether.CloseInternalError, "oops")
	})
	c := startPiped(t, url) // stdin stays open: the server's close ends it
	if s := c.wait(t); s != exitFail {
		t.Fatalf("exit %d, want 1", s)
	}
	c.stderr.waitFor(t, "Connection closed: 1011 (internal error) oops.\n")
	c.stderr.waitFor(t, "tether connect: received 1011 (internal error) oops; then sent 1011 (internal error) oops")
}

func TestInterruptClosesWith1000(t *testing.T) {
	h, closed := closeRecorder()
	url := startServer(t, tether.ServerOptions{}, nil, h)
	c := startPiped(t, url)
	c.stderr.waitFor(t, "Connected to ")
	c.cancel() // what SIGINT does in main
	if s := c.wait(t); s != exitOK {
		t.Fatalf("exit %d; stderr:\n%s", s, c.stderr)
	}
	if f := recvClose(t, closed); f == nil || f.Code != tether.CloseNormal {
		t.Fatalf("server received close %v, want 1000", f)
	}
}

func TestHeadersOriginSubprotocol(t *testing.T) {
	got := make(chan http.Header, 1)
	opts := tether.ServerOptions{
		Handshake: tether.ServerHandshake{Subprotocols: []string{"b"}, Origins: []string{"https://example.test"}},
		ProcessRequest: func(ctx context.Context, r *http.Request) (*tether.Response, error) {
			got <- r.Header.Clone()
			return nil, nil
		},
	}
	url := startServer(t, opts, nil, echo)
	code, _, errOut := runPipe(t, strings.NewReader(""),
		"-H", "X-Token: s3cret", "--header", "X-Multi: 1", "-H", "X-Multi:2",
		"--origin", "https://example.test", "--subprotocol", "a, b", "--no-proxy", "--no-compression", url)
	if code != exitOK {
		t.Fatalf("exit %d; stderr:\n%s", code, errOut)
	}
	h := <-got
	if v := h.Get("X-Token"); v != "s3cret" {
		t.Errorf("X-Token = %q", v)
	}
	if v := h.Values("X-Multi"); !slices.Equal(v, []string{"1", "2"}) {
		t.Errorf("X-Multi = %q", v)
	}
	if v := h.Get("Origin"); v != "https://example.test" {
		t.Errorf("Origin = %q", v)
	}
	if v := h.Get("Sec-WebSocket-Protocol"); v != "a, b" {
		t.Errorf("Sec-WebSocket-Protocol = %q", v)
	}
	if v := h.Get("Sec-WebSocket-Extensions"); v != "" {
		t.Errorf("--no-compression offered %q", v)
	}
	if !strings.Contains(errOut, "Subprotocol: b.\n") {
		t.Errorf("stderr:\n%s", errOut)
	}
}

func TestPeriodicPing(t *testing.T) {
	url := startServer(t, tether.ServerOptions{}, nil, echo)
	c := startPiped(t, "--ping", "5ms", url)
	c.stderr.waitFor(t, "Pong received: RTT ")
	_ = c.stdin.Close()
	if s := c.wait(t); s != exitOK {
		t.Fatalf("exit %d; stderr:\n%s", s, c.stderr)
	}
}

func TestInsecureTLS(t *testing.T) {
	url := startServer(t, tether.ServerOptions{}, &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}}, echo)
	code, _, errOut := runPipe(t, strings.NewReader("x\n"), url)
	if code != exitFail || !strings.Contains(errOut, "certificate") {
		t.Fatalf("without --insecure: exit %d, stderr:\n%s", code, errOut)
	}
	code, out, errOut := runPipe(t, strings.NewReader("over tls\n"), "-k", url)
	if code != exitOK || out != "over tls\n" {
		t.Fatalf("with -k: exit %d, stdout %q, stderr:\n%s", code, out, errOut)
	}
}

func TestConnectUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"ws://a/", "ws://b/"},
		{"--proxy", "http://p:1", "--no-proxy", "ws://x/"},
		{"-H", "no colon", "ws://x/"},
		{"--ping", "-1s", "ws://x/"},
		{"--nope", "ws://x/"},
	} {
		code, _, errOut := runMain(t, append([]string{"connect"}, args...)...)
		if code != exitUsage || !strings.Contains(errOut, "tether connect -h") {
			t.Errorf("connect %q: exit %d, stderr:\n%s", args, code, errOut)
		}
	}
}

func TestFormatMessage(t *testing.T) {
	for _, tc := range []struct {
		m    tether.Message
		want string
	}{
		{tether.Message{Type: tether.OpText, Data: []byte("héllo")}, "< héllo"},
		{tether.Message{Type: tether.OpText, Data: []byte("a\x1b[2Jb\tc\nd\x07")}, `< a\x1b[2Jb` + "\tc\nd" + `\a`},
		{tether.Message{Type: tether.OpBinary}, "< (binary) 0 bytes"},
		{tether.Message{Type: tether.OpBinary, Data: make([]byte, 64)}, "< (binary) 64 bytes: " + strings.Repeat("00", 64)},
		{tether.Message{Type: tether.OpBinary, Data: make([]byte, 65)}, "< (binary) 65 bytes: " + strings.Repeat("00", 64) + "…"},
	} {
		if got := formatMessage(tc.m); got != tc.want {
			t.Errorf("formatMessage = %q, want %q", got, tc.want)
		}
	}
}
