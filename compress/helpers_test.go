package compress

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/tetherws/tether/internal/corpus"
	"github.com/tetherws/tether/ws"
)

func testCorpus(n int) [][]byte { return corpus.Messages(42, n) }

// handshake runs the opening handshake between a client offering co and a
// server configured with so, and returns both extensions (nil when not
// negotiated).
func handshake(t testing.TB, co, so Options) (client, server *Deflate) {
	t.Helper()
	cf, err := NewClientFactory(co)
	if err != nil {
		t.Fatal(err)
	}
	sf, err := NewServerFactory(so)
	if err != nil {
		t.Fatal(err)
	}
	ch := ws.ClientHandshake{Extensions: []ws.ClientExtensionFactory{cf}}
	u, _ := ws.ParseURI("ws://example.com/chat")
	req, key, err := ch.Request(u)
	if err != nil {
		t.Fatal(err)
	}
	sh := ws.ServerHandshake{Extensions: []ws.ServerExtensionFactory{sf}}
	h, sn, err := sh.Accept(req)
	if err != nil {
		t.Fatalf("server Accept: %v", err)
	}
	cn, err := ch.Check(&http.Response{StatusCode: http.StatusSwitchingProtocols, Header: h}, key)
	if err != nil {
		t.Fatalf("client Check: %v (response %q)", err, h.Get("Sec-WebSocket-Extensions"))
	}
	if len(cn.Extensions) == 1 {
		client = cn.Extensions[0].(*Deflate)
	}
	if len(sn.Extensions) == 1 {
		server = sn.Extensions[0].(*Deflate)
	}
	return client, server
}

// conn is one negotiated connection: the client and server protocols with
// their extensions.
type conn struct {
	c, s       *ws.Protocol
	cext, sext *Deflate
}

func newConn(t testing.TB, co, so Options, cfg ws.Config) *conn {
	t.Helper()
	ce, se := handshake(t, co, so)
	if ce == nil || se == nil {
		t.Fatal("permessage-deflate not negotiated")
	}
	t.Cleanup(func() { ce.Close(); se.Close() })
	ccfg, scfg := cfg, cfg
	ccfg.Extensions = []ws.Extension{ce}
	scfg.Extensions = []ws.Extension{se}
	return &conn{c: ws.NewProtocol(ws.Client, ccfg), s: ws.NewProtocol(ws.Server, scfg), cext: ce, sext: se}
}

// sendMessage frames msg from p in frames of at most frag bytes (0: one
// frame) and returns the wire bytes.
func sendMessage(t testing.TB, p *ws.Protocol, dst []byte, op ws.Opcode, msg []byte, frag int, noCompress bool) []byte {
	t.Helper()
	if frag <= 0 || frag >= len(msg) {
		b, err := p.AppendData(dst, op, true, msg, noCompress)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for i := 0; i < len(msg); i += frag {
		end := min(i+frag, len(msg))
		o := op
		if i > 0 {
			o = ws.OpContinuation
		}
		var err error
		dst, err = p.AppendData(dst, o, end == len(msg), msg[i:end], noCompress)
		if err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// receive feeds wire to p and returns the messages it delivers, joined
// from their pieces, or the first error.
func receive(t testing.TB, p *ws.Protocol, wire []byte) ([][]byte, error) {
	t.Helper()
	if err := p.Feed(wire); err != nil {
		t.Fatal(err)
	}
	var msgs [][]byte
	var cur []byte
	for {
		ev, err := p.Next()
		if err != nil {
			return msgs, err
		}
		switch ev.Kind {
		case ws.EventNone:
			return msgs, nil
		case ws.EventData:
			cur = append(cur, ev.Payload...)
			if ev.Fin {
				msgs = append(msgs, cur)
				cur = nil
			}
		}
	}
}

// transfer sends msgs from one protocol to the other and checks they
// arrive intact; it returns the wire size.
func transfer(t testing.TB, from, to *ws.Protocol, msgs [][]byte, frag int) int {
	t.Helper()
	total := 0
	for i, m := range msgs {
		wire := sendMessage(t, from, nil, ws.OpText, m, frag, false)
		total += len(wire)
		got, err := receive(t, to, wire)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if len(got) != 1 || !bytes.Equal(got[0], m) {
			t.Fatalf("message %d (%d bytes) arrived as %d messages, first %.60q", i, len(m), len(got), first(got))
		}
	}
	return total
}

func first(b [][]byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b[0]
}

// frame is a parsed frame of a wire capture, unmasked.
type frame struct {
	h       ws.Header
	payload []byte
}

func parseFrames(t testing.TB, wire []byte) []frame {
	t.Helper()
	var out []frame
	for len(wire) > 0 {
		h, n, err := ws.ParseHeader(wire)
		if err != nil {
			t.Fatal(err)
		}
		p := append([]byte(nil), wire[n:n+int(h.Length)]...)
		if h.Masked {
			ws.Mask(h.Mask, 0, p)
		}
		out = append(out, frame{h, p})
		wire = wire[n+int(h.Length):]
	}
	return out
}

// appendFrame appends a server-to-client frame (unmasked).
func appendFrame(dst []byte, op ws.Opcode, fin bool, rsv byte, payload []byte) []byte {
	dst = ws.AppendHeader(dst, ws.Header{Fin: fin, Rsv: rsv, Opcode: op, Length: int64(len(payload))})
	return append(dst, payload...)
}

// retained, for the memory tests, returns the bytes of buffers the extension holds between
// messages (a borrowed compressor counts as its output buffer only).
func (d *Deflate) retained() int {
	d.sMu.Lock()
	defer d.sMu.Unlock()
	d.rMu.Lock()
	defer d.rMu.Unlock()
	n := cap(d.sPacked.data) + cap(d.rPacked.data)
	for _, b := range []*[]byte{d.sHist, d.sOut, d.rHist, d.rOut, d.rPend} {
		if b != nil {
			n += cap(*b)
		}
	}
	return n
}
