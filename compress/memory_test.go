package compress

import (
	"runtime"
	"testing"
	"time"

	"github.com/tetherws/tether/internal/fakeclock"

	"github.com/tetherws/tether/ws"
)

// An idle connection keeps only its history windows once its buffers are
// released: 2^bits bytes per direction with context takeover, nothing
// without; never a compressor in use, a decompressor or kept compressed
// data. (The window encoder a busy connection keeps goes back after
// IdleAfter: TestBusyConnectionsKeepEncodersWithinBudget.)
func TestIdleConnectionKeepsOnlyWindows(t *testing.T) {
	msgs := windowCorpus()
	for _, tt := range []struct {
		name string
		opts Options
		want int // bytes per endpoint
	}{
		{"Default", Default, 8 << 10},
		{"Fast", Fast, 0},
		{"SmallMemory", SmallMemory, 1 << 10},
		{"BestRatio", BestRatio, 64 << 10},
		{"HuffmanOnly", Options{Level: HuffmanOnly}, 4 << 10},
		{"8 bits", Options{ServerMaxWindowBits: 8, ClientMaxWindowBits: 8}, 512 + 256},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := newConn(t, tt.opts, tt.opts, ws.Config{MaxMessageSize: -1})
			for i := range 2 {
				transfer(t, c.c, c.s, msgs, []int{0, 1000}[i])
				transfer(t, c.s, c.c, msgs, []int{777, 0}[i])
			}
			for _, e := range []*Deflate{c.cext, c.sext} {
				held := e.retained()
				e.ReleaseBuffers()
				if got := e.retained(); got != tt.want {
					t.Errorf("retained %d bytes after release (%d before), want %d", got, held, tt.want)
				}
				if e.sDefl != nil || e.sLz != nil || e.rPend != nil {
					t.Error("a compressor or compressed data is held")
				}
			}
			t.Logf("client endpoint: %d bytes idle", c.cext.retained())
		})
	}
}

// Close gives everything back; using the extension afterwards is an error.
func TestCloseReleasesEverything(t *testing.T) {
	c := newConn(t, Options{}, Options{}, ws.Config{})
	msg := testCorpus(1)[0]
	transfer(t, c.c, c.s, [][]byte{msg}, 0)
	// Leave a fragmented message half sent and half received.
	wire, _ := c.c.AppendData(nil, ws.OpText, false, msg, false)
	if _, err := receive(t, c.s, wire); err != nil {
		t.Fatal(err)
	}
	c.cext.Close()
	c.sext.Close()
	c.cext.Close() // idempotent
	for _, e := range []*Deflate{c.cext, c.sext} {
		if e.retained() != 0 || e.sDefl != nil {
			t.Fatalf("retained %d after Close", e.retained())
		}
	}
	f := ws.Frame{Opcode: ws.OpText, Fin: true, Payload: msg}
	if err := c.cext.Encode(&f); err == nil {
		t.Fatal("Encode after Close")
	}
}

// idleHeap returns the heap bytes per connection (both endpoints, their
// Protocols and extensions) of n connections that exchanged one message
// each way and went idle (IdleAfter passed).
func idleHeap(tb testing.TB, n int, opts *Options) float64 {
	msg := testCorpus(1)[0]
	conns := make([]*conn, n)
	clk := fakeclock.New(time.Unix(0, 0))
	gc := func() { runtime.GC(); runtime.GC() } // also empties the pools
	var before, after runtime.MemStats
	gc()
	runtime.ReadMemStats(&before)
	for i := range conns {
		var c *conn
		if opts == nil {
			c = &conn{c: ws.NewProtocol(ws.Client, ws.Config{}), s: ws.NewProtocol(ws.Server, ws.Config{})}
		} else {
			c = newConnNoCleanup(tb, *opts)
			c.cext.clock, c.sext.clock = fakeTimers{clk}, fakeTimers{clk}
		}
		transfer(tb, c.c, c.s, [][]byte{msg}, 0)
		transfer(tb, c.s, c.c, [][]byte{msg}, 0)
		c.c.ReleaseBuffers()
		c.s.ReleaseBuffers()
		// ws keeps a reference to the drained input slice; drop it, as a
		// runtime reusing its read buffer would.
		_ = c.c.Feed(nil)
		_ = c.s.Feed(nil)
		if c.cext != nil {
			c.cext.ReleaseBuffers()
			c.sext.ReleaseBuffers()
		}
		conns[i] = c
	}
	goIdle(clk)
	gc()
	runtime.ReadMemStats(&after)
	per := float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(n)
	for _, c := range conns {
		if c.cext != nil {
			c.cext.Close()
			c.sext.Close()
		}
	}
	runtime.KeepAlive(conns)
	return per
}

func newConnNoCleanup(tb testing.TB, o Options) *conn {
	ce, se := handshake(tb, o, o)
	return &conn{
		c:    ws.NewProtocol(ws.Client, ws.Config{Extensions: []ws.Extension{ce}}),
		s:    ws.NewProtocol(ws.Server, ws.Config{Extensions: []ws.Extension{se}}),
		cext: ce, sext: se,
	}
}

// BenchmarkIdleMemory reports the heap an idle connection costs (client
// and server endpoints together, after one message each way), compressed
// with each preset and uncompressed.
func BenchmarkIdleMemory(b *testing.B) {
	const n = 1000
	for _, p := range []struct {
		name string
		opts *Options
	}{{"uncompressed", nil}, {"Default", &Default}, {"Fast", &Fast}, {"SmallMemory", &SmallMemory}, {"BestRatio", &BestRatio}} {
		b.Run(p.name, func(b *testing.B) {
			var per float64
			for range b.N {
				per = idleHeap(b, n, p.opts)
			}
			b.ReportMetric(per, "B/conn")
			b.ReportMetric(0, "ns/op")
		})
	}
}

func TestIdleHeapPerConnection(t *testing.T) {
	if testing.Short() {
		t.Skip("measures the heap of 1000 connections")
	}
	base := idleHeap(t, 500, nil)
	comp := idleHeap(t, 500, &Default)
	extra := comp - base
	t.Logf("idle connection (both endpoints): uncompressed %.0f B, compressed %.0f B, extra %.0f B", base, comp, extra)
	// The target: at most 8 KiB more per endpoint than uncompressed (the
	// 4 KiB windows are stored compressed while idle).
	if extra > 2*(8<<10) {
		t.Errorf("compression costs %.0f bytes per idle connection", extra)
	}
}
