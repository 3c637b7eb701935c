package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tetherws/tether"
)

// served is a tether serve running in-process.
type served struct {
	url    string
	stderr *output
	stop   func() int // shuts the server down and returns its exit status
}

// startServe runs tether serve with args (and address 127.0.0.1:0) until
// the end of the test or stop.
func startServe(t *testing.T, args ...string) *served {
	t.Helper()
	s := &served{stderr: newOutput()}
	cfg, code, ok := parseServe(append(args, "127.0.0.1:0"), stdio{out: io.Discard, err: s.stderr})
	if !ok {
		t.Fatalf("parseServe(%q): exit %d: %s", args, code, s.stderr)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	status := make(chan int, 1)
	go func() {
		status <- serve(ctx, cfg, stdio{out: io.Discard, err: s.stderr}, func(u string) { ready <- u })
	}()
	select {
	case s.url = <-ready:
	case code := <-status:
		t.Fatalf("tether serve exited with %d: %s", code, s.stderr)
	}
	stopped := false
	s.stop = func() int {
		t.Helper()
		cancel()
		if stopped {
			return exitOK
		}
		stopped = true
		select {
		case code := <-status:
			return code
		case <-time.After(waitLimit):
			t.Fatalf("tether serve did not stop: %s", s.stderr)
			return -1
		}
	}
	t.Cleanup(func() { s.stop() })
	return s
}

// dial connects to a test server.
func dial(t *testing.T, url string, o *tether.DialOptions) *tether.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	c, _, err := tether.Dial(ctx, url, o)
	if err != nil {
		t.Fatalf("Dial %s: %v", url, err)
	}
	t.Cleanup(c.CloseNow)
	return c
}

// next returns the next message of c.
func next(t *testing.T, c *tether.Conn) tether.Message {
	t.Helper()
	select {
	case m, ok := <-c.Messages():
		if !ok {
			t.Fatalf("connection ended: %v", c.Err())
		}
		return m
	case <-time.After(waitLimit):
		t.Fatal("no message")
		return tether.Message{}
	}
}

// ended waits for the end of c and returns its close status.
func ended(t *testing.T, c *tether.Conn) *tether.CloseError {
	t.Helper()
	select {
	case <-c.Done():
	case <-time.After(waitLimit):
		t.Fatal("the connection did not end")
	}
	for range c.Messages() {
	}
	return c.CloseStatus()
}

func send(t *testing.T, c *tether.Conn, typ tether.Opcode, data string) {
	t.Helper()
	if err := c.Send(context.Background(), typ, []byte(data)); err != nil {
		t.Fatal(err)
	}
}

func TestServeEchoes(t *testing.T) {
	s := startServe(t)
	c := dial(t, s.url, nil)
	send(t, c, tether.OpText, "héllo")
	send(t, c, tether.OpBinary, "\x00\xff")
	if m := next(t, c); m.Type != tether.OpText || m.Text() != "héllo" {
		t.Fatalf("got %v %q", m.Type, m.Data)
	}
	if m := next(t, c); m.Type != tether.OpBinary || string(m.Data) != "\x00\xff" {
		t.Fatalf("got %v %q", m.Type, m.Data)
	}
	if code := s.stop(); code != exitOK {
		t.Fatalf("exit %d: %s", code, s.stderr)
	}
	if st := ended(t, c); st.Code() != tether.CloseGoingAway || c.Err() != nil {
		t.Fatalf("after shutdown: close %v, Err %v; want a clean 1001", st.Code(), c.Err())
	}
	if !strings.Contains(s.stderr.String(), "listening on "+s.url+" (echo)") {
		t.Errorf("stderr: %s", s.stderr)
	}
}

func TestServeBroadcastsToEveryClient(t *testing.T) {
	s := startServe(t, "--broadcast")
	var conns []*tether.Conn
	for range 3 {
		conns = append(conns, dial(t, s.url, nil))
	}
	// Each client's message reaching the sender shows the server has
	// registered it; then one message reaches all.
	for i, c := range conns {
		send(t, c, tether.OpText, "hello from "+strconv.Itoa(i))
		for next(t, c).Text() != "hello from "+strconv.Itoa(i) {
		}
	}
	send(t, conns[0], tether.OpText, "to all")
	for i, c := range conns {
		for {
			m := next(t, c)
			if m.Text() == "to all" {
				break
			}
			if !strings.HasPrefix(m.Text(), "hello from ") {
				t.Fatalf("client %d got %q", i, m.Text())
			}
		}
	}
}

func TestServeExecRelaysLinesAndClosesWith1000(t *testing.T) {
	s := startServe(t, "--exec", `read a; echo "got $a"; read b; echo "got $b"; echo "uri $TETHER_REQUEST_URI"; printf '\377\n'`)
	c := dial(t, s.url+"path?q=1", nil)
	send(t, c, tether.OpText, "one")
	send(t, c, tether.OpBinary, "two")
	for _, want := range []string{"got one", "got two", "uri /path?q=1"} {
		if m := next(t, c); m.Type != tether.OpText || m.Text() != want {
			t.Fatalf("got %v %q, want text %q", m.Type, m.Data, want)
		}
	}
	if m := next(t, c); m.Type != tether.OpBinary || !bytes.Equal(m.Data, []byte{0xff}) {
		t.Fatalf("got %v %q, want binary ff (not UTF-8)", m.Type, m.Data)
	}
	st := ended(t, c)
	if st.Code() != tether.CloseNormal || c.Err() != nil {
		t.Fatalf("program exited 0: close %v, Err %v; want a clean 1000", st.Code(), c.Err())
	}
}

func TestServeExecFailureClosesWith1011(t *testing.T) {
	s := startServe(t, "--exec", "echo bye; echo oops >&2; exit 3")
	c := dial(t, s.url, nil)
	if m := next(t, c); m.Text() != "bye" {
		t.Fatalf("got %q", m.Data)
	}
	st := ended(t, c)
	if st.Code() != tether.CloseInternalError || st.Reason() != "exit status 3" {
		t.Fatalf("program exited 3: close %v %q, want 1011 \"exit status 3\"", st.Code(), st.Reason())
	}
	s.stderr.waitFor(t, "oops\n") // the program's stderr
}

func TestServeExecKillsTheProgramWhenTheConnectionEnds(t *testing.T) {
	s := startServe(t, "--exec", "echo $$; exec sleep 1000")
	c := dial(t, s.url, nil)
	pid, err := strconv.Atoi(next(t, c).Text())
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, 0); err != nil {
		t.Fatalf("the program is not running: %v", err)
	}
	if err := c.Close(tether.CloseNormal, ""); err != nil {
		t.Fatal(err)
	}
	// Shutdown waits for the handlers, which wait for their programs.
	if code := s.stop(); code != exitOK {
		t.Fatalf("exit %d: %s", code, s.stderr)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("the program %d outlived its connection: kill -0 = %v", pid, err)
	}
}

func TestServeOriginPolicy(t *testing.T) {
	s := startServe(t, "--origin", "https://*.example.com", "--origin", "http://localhost:8080")
	try := func(origin string) error {
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		defer cancel()
		c, _, err := tether.Dial(ctx, s.url, &tether.DialOptions{Origin: origin})
		if err == nil {
			c.CloseNow()
		}
		return err
	}
	for _, o := range []string{"https://app.example.com", "HTTPS://APP.EXAMPLE.COM", "http://localhost:8080"} {
		if err := try(o); err != nil {
			t.Errorf("origin %q refused: %v", o, err)
		}
	}
	for _, o := range []string{"https://evil.com", "https://a.b.example.com.evil.com", "https://x/.example.com", ""} {
		err := try(o)
		if se, ok := errors.AsType[*tether.StatusError](err); !ok || se.StatusCode() != 403 {
			t.Errorf("origin %q: %v, want 403", o, err)
		}
	}
	s2 := startServe(t, "--origin", "https://example.com", "--allow-no-origin")
	c := dial(t, s2.url, nil)
	c.CloseNow()
	// Without --origin, as documented, pages of every origin may connect.
	s3 := startServe(t)
	c = dial(t, s3.url, &tether.DialOptions{Origin: "https://another-site.example"})
	c.CloseNow()
}

func TestServeTLS(t *testing.T) {
	certFile, keyFile := writePEM(t, selfSigned(t))
	s := startServe(t, "--tls-cert", certFile, "--tls-key", keyFile)
	if !strings.HasPrefix(s.url, "wss://") {
		t.Fatalf("url %s", s.url)
	}
	c := dial(t, s.url, &tether.DialOptions{TLSConfig: &tls.Config{InsecureSkipVerify: true}})
	send(t, c, tether.OpText, "over tls")
	if m := next(t, c); m.Text() != "over tls" {
		t.Fatalf("got %q", m.Data)
	}
}

func TestServeUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--echo", "--broadcast"},
		{"--exec", "cat", "--broadcast"},
		{"--tls-cert", "x.pem"},
		{"--allow-no-origin"},
		{"--max-size", "0"},
		{"a:1", "b:2"},
	} {
		code, _, errOut := runMain(t, append([]string{"serve"}, args...)...)
		if code != exitUsage || !strings.Contains(errOut, "tether serve -h") {
			t.Errorf("serve %q: exit %d, stderr:\n%s", args, code, errOut)
		}
	}
	code, _, errOut := runMain(t, "serve", "--tls-cert", "/nonexistent.pem", "--tls-key", "/nonexistent.key", "127.0.0.1:0")
	if code != exitFail || !strings.Contains(errOut, "nonexistent") {
		t.Errorf("missing certificate: exit %d, stderr:\n%s", code, errOut)
	}
}

// TestServeShutsDownGracefullyOnSIGINT runs tether serve in a process of
// its own and interrupts it.
func TestServeShutsDownGracefullyOnSIGINT(t *testing.T) {
	cmd := exec.Command(os.Args[0], "serve", "-v", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "TETHER_TEST_MAIN=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	lines := bufio.NewScanner(stderr)
	var url string
	for url == "" && lines.Scan() {
		if _, rest, ok := strings.Cut(lines.Text(), "listening on "); ok {
			url, _, _ = strings.Cut(rest, " ")
		}
	}
	if url == "" {
		t.Fatal("tether serve did not say where it listens")
	}
	c := dial(t, url, nil)
	send(t, c, tether.OpText, "ping")
	if m := next(t, c); m.Text() != "ping" {
		t.Fatalf("got %q", m.Data)
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	st := ended(t, c)
	if st.Code() != tether.CloseGoingAway || c.Err() != nil {
		t.Fatalf("close %v, Err %v; want a clean 1001", st.Code(), c.Err())
	}
	var rest strings.Builder
	for lines.Scan() {
		rest.WriteString(lines.Text() + "\n")
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("tether serve: %v; stderr:\n%s", err, rest.String())
	}
	if !strings.Contains(rest.String(), "shutting down") || !strings.Contains(rest.String(), "connection closed") {
		t.Errorf("stderr after SIGINT:\n%s", rest.String())
	}
}
