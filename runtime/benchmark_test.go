package runtime

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	goruntime "runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tetherws/tether/ws"
)

// benchServer serves s on loopback until the benchmark ends.
func benchServer(b *testing.B, s *Server) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	b.Cleanup(func() {
		_ = s.Shutdown(context.Background())
		<-served
	})
	return "ws://" + ln.Addr().String() + "/"
}

func benchDial(b *testing.B, url string, o *DialOptions) *Conn {
	b.Helper()
	c, _, err := Dial(context.Background(), url, o)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Close(ws.CloseNormal, "") })
	return c
}

func BenchmarkEchoRoundTrip(b *testing.B) {
	for _, size := range []int{16, 1 << 10, 16 << 10} {
		b.Run(sizeName(size), func(b *testing.B) {
			c := benchDial(b, benchServer(b, &Server{Handler: echoHandler}), nil)
			msg := bytes.Repeat([]byte("x"), size)
			ctx := context.Background()
			b.SetBytes(int64(size))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if err := c.SendBinary(ctx, msg); err != nil {
					b.Fatal(err)
				}
				m, ok := <-c.Messages()
				if !ok || len(m.Data) != size {
					b.Fatalf("echo: %d bytes, %v", len(m.Data), c.Err())
				}
				m.Release()
			}
		})
	}
}

func sizeName(n int) string {
	switch {
	case n >= 1<<10:
		return itoa(n>>10) + "KiB"
	}
	return itoa(n) + "B"
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

// BenchmarkAllocsPerMessage measures the allocations of each path in
// steady state, with a raw peer on the other side so that only the
// runtime's own path is counted. The target is 0 allocs/op.
func BenchmarkAllocsPerMessage(b *testing.B) { allocsPerMessage(b, nil) }

// BenchmarkAllocsPerMessageObserved is BenchmarkAllocsPerMessage with an
// Observer whose every hook counts (atomically, as a metrics adapter
// would): still 0 allocs/op, and about the same time per message.
func BenchmarkAllocsPerMessageObserved(b *testing.B) {
	var n benchCounts
	allocsPerMessage(b, n.observer())
	if n.messages.Load() == 0 || n.bytes.Load() == 0 {
		b.Fatal("the observer saw nothing")
	}
}

// benchCounts is what the benchmark's observer counts.
type benchCounts struct {
	conns, messages, bytes, wire, pongs, skips atomic.Int64
}

func (n *benchCounts) observer() *Observer {
	return &Observer{
		Opened:   func(*Conn) { n.conns.Add(1) },
		Closed:   func(*Conn, CloseEvent) { n.conns.Add(-1) },
		Rejected: func(RejectEvent) {},
		Received: func(_ *Conn, m MessageEvent) { n.messages.Add(1); n.bytes.Add(int64(m.Size)) },
		Sent:     func(_ *Conn, m MessageEvent) { n.messages.Add(1); n.bytes.Add(int64(m.Size)) },
		Read:     func(_ *Conn, k int) { n.wire.Add(int64(k)) },
		Written:  func(_ *Conn, k int) { n.wire.Add(int64(k)) },
		Latency:  func(*Conn, time.Duration) { n.pongs.Add(1) },
		Skipped:  func(*Conn, error) { n.skips.Add(1) },
	}
}

// flood makes nc write binary frames of size bytes of fill, 64 per write,
// until it is closed.
func flood(nc net.Conn, size int, fill byte) {
	frame := appendFrame(nil, true, ws.OpBinary, bytes.Repeat([]byte{fill}, size), false)
	batch := bytes.Repeat(frame, 64)
	go func() {
		for {
			if _, err := nc.Write(batch); err != nil {
				return
			}
		}
	}()
}

func allocsPerMessage(b *testing.B, obs *Observer) {
	const size = 1 << 10
	opts := &DialOptions{Options: Options{Observer: obs}}
	b.Run("receive", func(b *testing.B) {
		url, peers := rawServerB(b)
		c := benchDial(b, url, opts)
		nc := <-peers
		// The peer writes a stream of frames as fast as the client reads.
		flood(nc, size, 'r')
		for range 1000 { // warm up the pools
			m := <-c.Messages()
			m.Release()
		}
		b.SetBytes(size)
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			m, ok := <-c.Messages()
			if !ok {
				b.Fatal(c.Err())
			}
			m.Release()
		}
		b.StopTimer()
		c.CloseNow()
		nc.Close()
	})
	// receive-kept is the README's Quick Start: the application never
	// calls Release. Small messages share blocks, so the allocations per
	// message are the blocks' (one per 64 KiB received); allocs/msg
	// reports them exactly.
	b.Run("receive-kept", func(b *testing.B) {
		url, peers := rawServerB(b)
		c := benchDial(b, url, opts)
		nc := <-peers
		flood(nc, size, 'k')
		for range 1000 {
			<-c.Messages()
		}
		var before, after goruntime.MemStats
		goruntime.ReadMemStats(&before)
		b.SetBytes(size)
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			if _, ok := <-c.Messages(); !ok {
				b.Fatal(c.Err())
			}
		}
		b.StopTimer()
		goruntime.ReadMemStats(&after)
		b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(b.N), "allocs/msg")
		c.CloseNow()
		nc.Close()
	})
	b.Run("send", func(b *testing.B) {
		url, peers := rawServerB(b)
		c := benchDial(b, url, opts)
		nc := <-peers
		go func() { _, _ = io.Copy(io.Discard, nc) }()
		msg := bytes.Repeat([]byte("s"), size)
		ctx := context.Background()
		for range 1000 {
			if err := c.SendBinary(ctx, msg); err != nil {
				b.Fatal(err)
			}
		}
		b.SetBytes(size)
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			if err := c.SendBinary(ctx, msg); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		c.CloseNow()
		nc.Close()
	})
}

// rawServerB is a minimal raw WebSocket server for benchmarks: it answers
// each handshake and hands over the connection, with no goroutine or
// buffer of its own per connection.
func rawServerB(b *testing.B) (string, <-chan net.Conn) {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ch := make(chan net.Conn, 1024)
	done := make(chan struct{})
	b.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		var buf [4096]byte
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			head, err := readHeadB(nc, buf[:])
			if err != nil {
				nc.Close()
				continue
			}
			i := strings.Index(strings.ToLower(head), "sec-websocket-key: ")
			if i < 0 {
				nc.Close()
				continue
			}
			key, _, _ := strings.Cut(head[i+len("sec-websocket-key: "):], "\r\n")
			_, _ = io.WriteString(nc, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "+
				ws.AcceptKey(key)+"\r\n\r\n")
			ch <- nc
		}
	}()
	return "ws://" + ln.Addr().String() + "/", ch
}

// readHeadB reads an HTTP head (and nothing after it: the peer sends
// nothing more before an answer).
func readHeadB(nc net.Conn, buf []byte) (string, error) {
	n := 0
	for {
		m, err := nc.Read(buf[n:])
		n += m
		if i := bytes.Index(buf[:n], []byte("\r\n\r\n")); i >= 0 {
			return string(buf[:i+4]), nil
		}
		if err != nil {
			return "", err
		}
		if n == len(buf) {
			return "", errors.New("head too large")
		}
	}
}

// BenchmarkIdleConnMemory opens 1000 idle connections and reports the
// memory each holds (heap and stacks in use, after GC): "client" measures
// Conns made by Dial against a raw server, "server" the Conns and handler
// goroutines of a Server against raw clients.
func BenchmarkIdleConnMemory(b *testing.B) {
	const n = 1000
	measure := func(b *testing.B, open func() func()) {
		var total float64
		for range b.N {
			before := memInUse()
			closeAll := open()
			after := memInUse()
			total += float64(after-before) / n
			b.StopTimer()
			closeAll()
			b.StartTimer()
		}
		b.ReportMetric(total/float64(b.N), "B/conn")
	}
	b.Run("client", func(b *testing.B) {
		url, peers := rawServerB(b)
		opts := &DialOptions{Options: Options{PingInterval: -1}}
		measure(b, func() func() {
			conns := make([]*Conn, 0, n)
			raws := make([]net.Conn, 0, n)
			for range n {
				c, _, err := Dial(context.Background(), url, opts)
				if err != nil {
					b.Fatal(err)
				}
				conns = append(conns, c)
				raws = append(raws, <-peers)
			}
			return func() {
				for _, c := range conns {
					c.CloseNow()
				}
				for _, r := range raws {
					r.Close()
				}
			}
		})
	})
	b.Run("server", func(b *testing.B) {
		sink := make(chan *Conn, n)
		srv := &Server{Handler: func(ctx context.Context, c *Conn) error {
			sink <- c
			for range c.Messages() {
			}
			return nil
		}, Options: ServerOptions{Options: Options{PingInterval: -1}}}
		url := benchServer(b, srv)
		addr := strings.TrimSuffix(strings.TrimPrefix(url, "ws://"), "/")
		req := "GET / HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
		measure(b, func() func() {
			raws := make([]net.Conn, 0, n)
			var buf [4096]byte
			for range n {
				nc, err := net.Dial("tcp", addr)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.WriteString(nc, req); err != nil {
					b.Fatal(err)
				}
				if _, err := readHeadB(nc, buf[:]); err != nil {
					b.Fatal(err)
				}
				raws = append(raws, nc)
				<-sink
			}
			return func() {
				for _, r := range raws {
					r.Close()
				}
				for len(srv.Connections()) > 0 {
					goruntime.Gosched()
				}
			}
		})
	})
}

func memInUse() uint64 {
	goruntime.GC()
	goruntime.GC()
	var ms goruntime.MemStats
	goruntime.ReadMemStats(&ms)
	return ms.HeapInuse + ms.StackInuse
}
