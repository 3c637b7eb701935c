package main

import (
	"bytes"
	stdflate "compress/flate"
	"errors"
	"fmt"
	"io"
	"runtime"
	"time"

	"github.com/tetherws/tether/compress"
	"github.com/tetherws/tether/ws"
)

// settings are what one measurement runs with.
type settings struct {
	minTime  time.Duration // the least time a timed run lasts
	rounds   int           // timed runs per scenario; the fastest counts
	conns    int           // connections of the cold scenario
	memConns int           // connections whose heap is measured
}

// timing is the time per message of one scenario.
type timing struct {
	wall, cpu time.Duration // cpu is 0 when it is not measured
}

// result is one row of the table.
type result struct {
	bits, level int
	mem         float64 // bytes per connection endpoint
	size        float64 // compressed bytes / plain bytes
	hot, cold   timing
}

// options are the Options of a setting, the same on both sides.
// IdleAfter is off so that the measured state does not change under the
// measurement.
func options(bits, level int) compress.Options {
	return compress.Options{Level: level, ServerMaxWindowBits: bits, ClientMaxWindowBits: bits, IdleAfter: -1}
}

// pair is one connection: the server's extension and the client's.
type pair struct {
	server, client ws.Extension
}

func newPair(o compress.Options) (pair, error) {
	cf, err := compress.NewClientFactory(o)
	if err != nil {
		return pair{}, err
	}
	sf, err := compress.NewServerFactory(o)
	if err != nil {
		return pair{}, err
	}
	params, server, err := sf.Negotiate(cf.Offer(), nil)
	if err != nil {
		return pair{}, err
	}
	client, err := cf.Accept(params, nil)
	if err != nil {
		return pair{}, err
	}
	return pair{server: server, client: client}, nil
}

func (p pair) close() { ws.CloseExtensions([]ws.Extension{p.server, p.client}) }

// errRoundTrip is a message that did not come back as it was sent.
var errRoundTrip = errors.New("deflatetune: a message did not survive the round trip")

// send compresses m with enc and inflates it with dec, as one message of
// one frame, and returns its size on the wire.
func send(enc, dec ws.Extension, m []byte) (int, error) {
	f := ws.Frame{Opcode: ws.OpText, Fin: true, Payload: m}
	if err := enc.Encode(&f); err != nil {
		return 0, err
	}
	n := len(f.Payload)
	if f.Rsv != 0 {
		if err := dec.Decode(&f, -1); err != nil {
			return 0, err
		}
	}
	if !bytes.Equal(f.Payload, m) {
		return 0, errRoundTrip
	}
	return n, nil
}

// releaser is what the runtime calls between messages.
type releaser interface{ ReleaseBuffers() }

// measureMemory returns the heap per connection endpoint of n
// connections that exchanged a message each way, with the buffers they
// give back between messages released.
func measureMemory(o compress.Options, msgs [][]byte, n int) (float64, error) {
	gc := func() { runtime.GC(); runtime.GC() } // the second also empties the pools
	var before, after runtime.MemStats
	pairs := make([]pair, n)
	gc()
	runtime.ReadMemStats(&before)
	for i := range pairs {
		p, err := newPair(o)
		if err != nil {
			return 0, err
		}
		pairs[i] = p
		m := msgs[i%len(msgs)]
		if _, err := send(p.server, p.client, m); err != nil {
			return 0, err
		}
		if _, err := send(p.client, p.server, m); err != nil {
			return 0, err
		}
		for _, e := range []ws.Extension{p.server, p.client} {
			if r, ok := e.(releaser); ok {
				r.ReleaseBuffers()
			}
		}
	}
	gc()
	runtime.ReadMemStats(&after)
	per := float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(2*n)
	for _, p := range pairs {
		p.close()
	}
	runtime.KeepAlive(pairs)
	return per, nil
}

// measureTime sends the corpus over conns connections in turn, pass after
// pass until minTime has passed, and returns the time per message; size
// is the compressed/plain ratio of the first pass.
func measureTime(o compress.Options, msgs [][]byte, conns int, minTime time.Duration) (timing, float64, error) {
	pairs := make([]pair, conns)
	for i := range pairs {
		p, err := newPair(o)
		if err != nil {
			return timing{}, 0, err
		}
		pairs[i] = p
	}
	defer func() {
		for _, p := range pairs {
			p.close()
		}
	}()
	// Warm up the pools and the histories.
	for i, m := range msgs[:min(len(msgs), 2*conns)] {
		if _, err := send(pairs[i%conns].server, pairs[i%conns].client, m); err != nil {
			return timing{}, 0, err
		}
	}
	runtime.GC()
	wire, plain, count := 0, 0, 0
	start := time.Now()
	cpuStart, cpuOK := cpuTime()
	for pass := 0; pass == 0 || time.Since(start) < minTime; pass++ {
		for _, m := range msgs {
			p := pairs[count%conns]
			n, err := send(p.server, p.client, m)
			if err != nil {
				return timing{}, 0, err
			}
			if pass == 0 {
				wire += n
				plain += len(m)
			}
			count++
		}
	}
	wall := time.Since(start)
	t := timing{wall: wall / time.Duration(count)}
	if cpuEnd, ok := cpuTime(); ok && cpuOK {
		t.cpu = (cpuEnd - cpuStart) / time.Duration(count)
	}
	return t, float64(wire) / float64(plain), nil
}

// best runs measureTime rounds times and keeps the fastest wall and CPU
// times.
func best(o compress.Options, msgs [][]byte, conns int, s settings) (timing, float64, error) {
	var b timing
	var size float64
	for i := range max(s.rounds, 1) {
		t, sz, err := measureTime(o, msgs, conns, s.minTime)
		if err != nil {
			return timing{}, 0, err
		}
		if i == 0 || t.wall < b.wall {
			b.wall = t.wall
		}
		if i == 0 || t.cpu < b.cpu {
			b.cpu = t.cpu
		}
		size = sz
	}
	return b, size, nil
}

// measure measures one setting.
func measure(bits, level int, msgs [][]byte, s settings) (result, error) {
	o := options(bits, level)
	r := result{bits: bits, level: level}
	var err error
	if r.mem, err = measureMemory(o, msgs, s.memConns); err != nil {
		return r, fmt.Errorf("%d bits, level %d: %w", bits, level, err)
	}
	if r.hot, r.size, err = best(o, msgs, 1, s); err != nil {
		return r, fmt.Errorf("%d bits, level %d: %w", bits, level, err)
	}
	if r.cold, _, err = best(o, msgs, s.conns, s); err != nil {
		return r, fmt.Errorf("%d bits, level %d: %w", bits, level, err)
	}
	return r, nil
}

// stdlibResult measures compress/flate at level 6 with a 15-bit window,
// one writer and one reader kept per connection, as zlib-based peers do:
// the memory of n such connections' writer and reader, the size, and the
// time per message on one connection.
func stdlibResult(msgs [][]byte, s settings) (result, error) {
	r := result{bits: 15, level: 6}
	var before, after runtime.MemStats
	type conn struct {
		w *stdflate.Writer
		r io.ReadCloser
	}
	conns := make([]conn, s.memConns)
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range conns {
		w, _ := stdflate.NewWriter(io.Discard, 6)
		conns[i] = conn{w, stdflate.NewReader(bytes.NewReader(nil))}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	r.mem = float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(len(conns))
	runtime.KeepAlive(conns)

	var out, stream bytes.Buffer
	fw, _ := stdflate.NewWriter(&out, 6)
	fr := stdflate.NewReader(&stream)
	buf := make([]byte, 0, 1<<16)
	wire, plain, count := 0, 0, 0
	start := time.Now()
	cpuStart, cpuOK := cpuTime()
	for pass := 0; pass == 0 || time.Since(start) < s.minTime; pass++ {
		for _, m := range msgs {
			out.Reset()
			fw.Write(m)
			fw.Flush()
			if pass == 0 {
				wire += out.Len() - 4 // the sync marker RFC 7692 strips
				plain += len(m)
			}
			stream.Write(out.Bytes())
			if cap(buf) < len(m) {
				buf = make([]byte, len(m))
			}
			buf = buf[:len(m)]
			if _, err := io.ReadFull(fr, buf); err != nil || !bytes.Equal(buf, m) {
				return r, errRoundTrip
			}
			count++
		}
	}
	r.hot.wall = time.Since(start) / time.Duration(count)
	if cpuEnd, ok := cpuTime(); ok && cpuOK {
		r.hot.cpu = (cpuEnd - cpuStart) / time.Duration(count)
	}
	r.size = float64(wire) / float64(plain)
	return r, nil
}
