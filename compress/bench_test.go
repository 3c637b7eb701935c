package compress

import (
	"bytes"
	"compress/flate"
	"io"
	"testing"

	"github.com/tetherws/tether/ws"
)

var benchPresets = []struct {
	name string
	opts Options
}{
	{"Default", Default},
	{"Fast", Fast},
	{"SmallMemory", SmallMemory},
	{"BestRatio", BestRatio},
	{"Level1", Options{Level: 1}},
}

// BenchmarkMessage compresses one JSON message with one endpoint's
// extension and inflates it with the other's, per op, in steady state.
func BenchmarkMessage(b *testing.B) {
	msgs := testCorpus(1000)
	plain := 0
	for _, m := range msgs {
		plain += len(m)
	}
	for _, p := range benchPresets {
		b.Run(p.name, func(b *testing.B) {
			enc, dec := handshake(b, p.opts, p.opts)
			defer enc.Close()
			defer dec.Close()
			b.SetBytes(int64(plain / len(msgs)))
			b.ReportAllocs()
			wire := 0
			i := 0
			for b.Loop() {
				m := msgs[i%len(msgs)]
				i++
				f := ws.Frame{Opcode: ws.OpText, Fin: true, Payload: m}
				if err := enc.Encode(&f); err != nil {
					b.Fatal(err)
				}
				wire += len(f.Payload)
				if err := dec.Decode(&f, 1<<20); err != nil {
					b.Fatal(err)
				}
				if len(f.Payload) != len(m) {
					b.Fatal("round trip failed")
				}
			}
			b.ReportMetric(float64(wire)/float64(msgsBytes(msgs, i)), "ratio")
		})
	}
}

func msgsBytes(msgs [][]byte, n int) int {
	t := 0
	for i := range n {
		t += len(msgs[i%len(msgs)])
	}
	return t
}

// BenchmarkProtocolRoundTrip is the same through ws.Protocol: framing,
// masking and UTF-8 validation included.
func BenchmarkProtocolRoundTrip(b *testing.B) {
	msgs := testCorpus(1000)
	c := newConn(b, Options{}, Options{}, ws.Config{})
	var wire []byte
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		m := msgs[i%len(msgs)]
		i++
		wire, _ = c.c.AppendData(wire[:0], ws.OpText, true, m, false)
		if err := c.s.Feed(wire); err != nil {
			b.Fatal(err)
		}
		for {
			ev, err := c.s.Next()
			if err != nil {
				b.Fatal(err)
			}
			if ev.Kind == ws.EventNone {
				break
			}
		}
	}
}

// BenchmarkStdlibReference is a zlib-style peer on the standard library:
// one writer and one reader pinned for the connection (32 KiB windows,
// level 6), for comparison of ratio and speed.
func BenchmarkStdlibReference(b *testing.B) {
	msgs := testCorpus(1000)
	var out bytes.Buffer
	w, _ := flate.NewWriter(&out, 6)
	var in bytes.Reader
	var stream bytes.Buffer
	r := flate.NewReader(&stream)
	buf := make([]byte, 64<<10)
	wire := 0
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		m := msgs[i%len(msgs)]
		i++
		out.Reset()
		w.Write(m)
		w.Flush()
		wire += out.Len() - 4
		in.Reset(out.Bytes())
		stream.Write(out.Bytes())
		n, err := io.ReadAtLeast(r, buf, len(m))
		if err != nil || n != len(m) {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(wire)/float64(msgsBytes(msgs, i)), "ratio")
}

// BenchmarkBusyConnections compresses a JSON stream on 16 connections of
// one server in turn (each message of a connection follows one of every
// other), as an echo server does, and inflates it on the clients: the
// case where a pooled compressor never holds the connection's history.
func BenchmarkBusyConnections(b *testing.B) {
	msgs := testCorpus(1000)
	for _, p := range []struct {
		name string
		opts Options
		nctx bool
	}{{"Default", Default, false}, {"NoKeptEncoders", Options{BusyEncoders: -1}, false}, {"Level1", Options{Level: 1}, false}, {"NoContextTakeover", Default, true}} {
		b.Run(p.name, func(b *testing.B) {
			const conns = 16
			sf, err := NewServerFactory(p.opts)
			if err != nil {
				b.Fatal(err)
			}
			var enc, dec [conns]*Deflate
			for i := range conns {
				dec[i], _ = handshake(b, Options{ServerNoContextTakeover: p.nctx}, Options{})
				a := Agreement{LocalMaxWindowBits: 12, RemoteMaxWindowBits: 12, LocalNoContextTakeover: p.nctx, RemoteNoContextTakeover: p.nctx}
				enc[i] = newDeflate(&sf.opts, a, nil, sf.budget)
				defer enc[i].Close()
				defer dec[i].Close()
			}
			b.ReportAllocs()
			wire, plain, i := 0, 0, 0
			for b.Loop() {
				m := msgs[i/conns%len(msgs)]
				c := i % conns
				i++
				f := ws.Frame{Opcode: ws.OpText, Fin: true, Payload: m}
				if err := enc[c].Encode(&f); err != nil {
					b.Fatal(err)
				}
				wire += len(f.Payload)
				plain += len(m)
				if err := dec[c].Decode(&f, 1<<20); err != nil {
					b.Fatal(err)
				}
				if len(f.Payload) != len(m) {
					b.Fatal("round trip failed")
				}
			}
			b.ReportMetric(float64(wire)/float64(plain), "ratio")
		})
	}
}
