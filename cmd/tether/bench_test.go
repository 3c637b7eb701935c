package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tetherws/tether"
)

// benchConns is the number of connections of TestBenchAgainstServeEcho.
var benchConns = flag.Int("bench-conns", 1000, "connections for TestBenchAgainstServeEcho")

// runBenchArgs runs tether bench in-process and decodes its --json result.
func runBenchArgs(t *testing.T, cfgHook func(*benchConfig), args ...string) (int, *result, string) {
	t.Helper()
	var out, errw bytes.Buffer
	io := stdio{out: &out, err: &errw}
	cfg, code, ok := parseBench(append(args, "--json", "--progress", "0"), io)
	if !ok {
		t.Fatalf("parseBench(%q): exit %d: %s", args, code, errw.String())
	}
	if cfgHook != nil {
		cfgHook(&cfg)
	}
	msgs, err := loadMessages(cfg)
	if err != nil {
		t.Fatal(err)
	}
	addrs, err := parseLocalAddrs(cfg.localAddrs)
	if err != nil {
		t.Fatal(err)
	}
	res := bench(context.Background(), cfg, msgs, addrs, io)
	res.writeJSON(&out)
	var decoded result
	if err := json.Unmarshal(out.Bytes(), &decoded); err != nil {
		t.Fatalf("--json output: %v\n%s", err, out.String())
	}
	code = exitOK
	if res.failed() {
		code = exitFail
	}
	return code, &decoded, errw.String()
}

// buildTether builds the tether command, without the race detector
// whatever the tests run with: under it, a thousand connections in one
// process crawl.
func buildTether(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "tether")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startServeProcess runs tether serve args in a process of its own and
// returns its URL; the process is interrupted at the end of the test.
func startServeProcess(t *testing.T, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve"}, args...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stderr)
	var url string
	for url == "" && lines.Scan() {
		if _, rest, ok := strings.Cut(lines.Text(), "listening on "); ok {
			url, _, _ = strings.Cut(rest, " ")
		}
	}
	go func() {
		for lines.Scan() { // the rest of its log, until it exits
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		if err := cmd.Wait(); err != nil {
			t.Errorf("tether serve: %v", err)
		}
	})
	if url == "" {
		t.Fatal("tether serve did not say where it listens")
	}
	return url
}

// TestBenchAgainstServeEcho runs the tether binary twice, as a user
// would: tether serve --echo, and tether bench with 1,000 connections
// (-bench-conns) that checks every reply byte for byte.
func TestBenchAgainstServeEcho(t *testing.T) {
	n := *benchConns
	bin := buildTether(t)
	url := startServeProcess(t, bin, "--echo", "127.0.0.1:0")
	args := []string{"bench", "-c", fmt.Sprint(n), "-n", "20", "--size", "200", "--text", "--json", "--progress", "0"}
	if goruntime.GOOS == "linux" { // all of 127.0.0.0/8 is the loopback
		args = append(args, "--local-addr", "127.0.0.1-127.0.0.8")
	}
	var out, errw bytes.Buffer
	cmd := exec.Command(bin, append(args, url)...)
	cmd.Stdout, cmd.Stderr = &out, &errw
	err := cmd.Run()
	var res result
	if jerr := json.Unmarshal(out.Bytes(), &res); jerr != nil {
		t.Fatalf("tether bench: %v; --json output: %v\n%s\nstderr:\n%s", err, jerr, out.String(), errw.String())
	}
	if err != nil || res.ErrorCount != 0 {
		t.Fatalf("tether bench: %v, errors %v; stderr:\n%s", err, res.Errors, errw.String())
	}
	// Every reply was compared byte for byte with the message sent:
	// echoed counts only those that matched.
	if res.Opened != int64(n) || res.Sent != uint64(20*n) || res.Echoed != uint64(20*n) {
		t.Fatalf("opened %d, sent %d, echoed %d; want %d, %d, %d", res.Opened, res.Sent, res.Echoed, n, 20*n, 20*n)
	}
	if len(res.CloseCodes) != 1 || res.CloseCodes["1000 (OK)"] != n {
		t.Fatalf("close codes %v, want %d × 1000", res.CloseCodes, n)
	}
	l := res.Latency
	if !(0 < l.P50 && l.P50 <= l.P90 && l.P90 <= l.P99 && l.P99 <= l.P999 && l.P999 <= l.Max) {
		t.Fatalf("latency quantiles out of order: %+v", l)
	}
	if res.MsgsPerSec <= 0 || res.MBPerSec <= 0 {
		t.Fatalf("rates %v msg/s %v MB/s", res.MsgsPerSec, res.MBPerSec)
	}
	t.Logf("%d connections: %.0f msg/s, p50 %.2fms p99 %.2fms max %.2fms", n, res.MsgsPerSec, l.P50, l.P99, l.Max)
}

// corrupting is an echo server that changes one byte of every tenth
// message and drops the 25th.
func corrupting(t *testing.T) string {
	return startServer(t, tether.ServerOptions{}, nil, func(ctx context.Context, c *tether.Conn) error {
		i := 0
		for m := range c.Messages() {
			i++
			data := bytes.Clone(m.Data)
			m.Release()
			if i == 25 {
				continue
			}
			if i%10 == 0 {
				data[len(data)-1] ^= 1
			}
			if err := c.SendBinary(ctx, data); err != nil {
				return nil
			}
		}
		return nil
	})
}

func TestBenchCatchesWrongAndMissingReplies(t *testing.T) {
	url := corrupting(t)
	code, res, _ := runBenchArgs(t, func(c *benchConfig) { c.timeout = 200 * time.Millisecond }, "-n", "30", "--size", "100", url)
	if code != exitFail {
		t.Fatalf("exit %d, want 1", code)
	}
	// Replies 10 and 20 are corrupted; 25 is dropped, so the replies
	// after it are compared with the message before them: all differ.
	if res.Errors["no reply"] != 1 {
		t.Errorf("errors %v, want 1 no reply", res.Errors)
	}
	if res.Errors["reply differs from the message sent"] < 2 {
		t.Errorf("errors %v, want the corrupted replies counted", res.Errors)
	}
	if res.Echoed+uint64(res.Errors["reply differs from the message sent"])+1 != res.Sent {
		t.Errorf("sent %d, echoed %d, errors %v: every message must be accounted for", res.Sent, res.Echoed, res.Errors)
	}
}

func TestBenchRateAndDuration(t *testing.T) {
	s := startServe(t)
	start := time.Now()
	code, res, errOut := runBenchArgs(t, nil, "-c", "10", "--rate", "100", "-d", "500ms", "--no-compression", s.url)
	if code != exitOK {
		t.Fatalf("exit %d, errors %v: %s", code, res.Errors, errOut)
	}
	if took := time.Since(start); took < 500*time.Millisecond {
		t.Fatalf("a 500ms run took %v", took)
	}
	// 10 connections × 100/s × 0.5 s, within the timer's precision.
	if res.Sent < 400 || res.Sent > 600 || res.Echoed != res.Sent {
		t.Fatalf("sent %d, echoed %d; want about 500 each", res.Sent, res.Echoed)
	}
	if !strings.Contains(res.Load, "100 msg/s per connection") {
		t.Errorf("load %q", res.Load)
	}
}

func TestBenchCorpus(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{"a.json": `{"type":"join"}`, "b.txt": "héllo wörld", "c.txt": strings.Repeat("x", 70_000)}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	got := make(chan string, 100)
	url := startServer(t, tether.ServerOptions{}, nil, func(ctx context.Context, c *tether.Conn) error {
		for m := range c.Messages() {
			if m.IsText() {
				got <- m.Text()
			}
			if err := c.SendMessage(ctx, m); err != nil {
				return nil
			}
		}
		return nil
	})
	code, res, errOut := runBenchArgs(t, nil, "-n", "6", "--corpus", dir, "--text", url)
	if code != exitOK || res.Echoed != 6 {
		t.Fatalf("exit %d, echoed %d, errors %v: %s", code, res.Echoed, res.Errors, errOut)
	}
	want := []string{files["a.json"], files["b.txt"], files["c.txt"], files["a.json"], files["b.txt"], files["c.txt"]}
	for i, w := range want {
		if m := <-got; m != w {
			t.Fatalf("message %d: %.20q, want %.20q", i, m, w)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "bin"), []byte{0xff}, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadMessages(benchConfig{corpus: dir, text: true}); err == nil {
		t.Error("a corpus with a file that is not UTF-8 was accepted with --text")
	}
}

func TestBenchSpreadsLocalAddresses(t *testing.T) {
	var mu sync.Mutex
	seen := make(map[string]int)
	url := startServer(t, tether.ServerOptions{}, nil, func(ctx context.Context, c *tether.Conn) error {
		host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
		mu.Lock()
		seen[host]++
		mu.Unlock()
		return echo(ctx, c)
	})
	code, res, errOut := runBenchArgs(t, nil, "-c", "6", "-n", "1", "--local-addr", "127.0.0.2-127.0.0.3,127.0.0.4", url)
	if code != exitOK {
		t.Fatalf("exit %d, errors %v: %s", code, res.Errors, errOut)
	}
	mu.Lock()
	defer mu.Unlock()
	want := map[string]int{"127.0.0.2": 2, "127.0.0.3": 2, "127.0.0.4": 2}
	if fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Fatalf("connections by source address %v, want %v", seen, want)
	}
}

func TestBenchReportsFailedConnections(t *testing.T) {
	url := rejecting(t)
	code, res, _ := runBenchArgs(t, nil, "-c", "3", "-n", "1", url)
	if code != exitFail || res.Opened != 0 || res.Errors["open: HTTP 403"] != 3 {
		t.Fatalf("exit %d, opened %d, errors %v", code, res.Opened, res.Errors)
	}
}

func TestBenchProgressAndTextReport(t *testing.T) {
	s := startServe(t)
	var out bytes.Buffer
	errw := newOutput()
	code := Main(context.Background(), []string{"bench", "-c", "4", "-d", "300ms", "--progress", "50ms", s.url}, stdio{out: &out, err: errw})
	if code != exitOK {
		t.Fatalf("exit %d:\n%s\n%s", code, out.String(), errw)
	}
	lines := strings.Split(strings.TrimSpace(errw.String()), "\n")
	if !slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, " msg/s ") && strings.Contains(l, "p99") }) {
		t.Errorf("no progress line on stderr:\n%s", errw)
	}
	for _, l := range lines {
		if strings.Contains(l, "\r") || strings.Contains(l, "\x1b") {
			t.Errorf("terminal control in progress lines that are not on a terminal: %q", l)
		}
	}
	for _, s := range []string{"4 connections, 64-byte binary, closed loop, 1 in flight", "latency       p50 ", "p99.9 ", "errors        0\n", "       4  1000 (OK)\n"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("no %q in the report:\n%s", s, out.String())
		}
	}
}

func TestParseLocalAddrs(t *testing.T) {
	ips, err := parseLocalAddrs([]string{"127.0.0.254-127.0.1.1", "::1"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ip := range ips {
		got = append(got, ip.String())
	}
	if want := []string{"127.0.0.254", "127.0.0.255", "127.0.1.0", "127.0.1.1", "::1"}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for _, bad := range []string{"x", "127.0.0.2-127.0.0.1", "127.0.0.1-::1", "10.0.0.0-10.1.0.0"} {
		if _, err := parseLocalAddrs([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestBenchUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"-c", "0", "ws://x/"},
		{"--inflight", "0", "ws://x/"},
		{"--rate", "-1", "ws://x/"},
		{"-d", "0s", "ws://x/"},
		{"--size", "-1", "ws://x/"},
	} {
		code, _, errOut := runMain(t, append([]string{"bench"}, args...)...)
		if code != exitUsage || !strings.Contains(errOut, "tether bench -h") {
			t.Errorf("bench %q: exit %d, stderr:\n%s", args, code, errOut)
		}
	}
}
