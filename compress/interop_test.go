package compress

import (
	"bytes"
	"compress/flate"
	"fmt"
	"io"
	"testing"

	"github.com/tetherws/tether/internal/inflateref"
	"github.com/tetherws/tether/ws"
)

// stdPeer is a permessage-deflate sender built on the standard library's
// compress/flate, the way a zlib-based peer works: with 15 bits and
// context takeover it keeps one writer for the whole connection. The
// standard library cannot limit its window, so for fewer bits it
// compresses each message (of at most 2^bits bytes) with a dictionary cut
// so that no reference can reach past the window.
type stdPeer struct {
	t          testing.TB
	bits       int
	noTakeover bool
	w          *flate.Writer
	buf        bytes.Buffer
	hist       []byte
}

func newStdPeer(t testing.TB, bits int, noTakeover bool) *stdPeer {
	return &stdPeer{t: t, bits: bits, noTakeover: noTakeover}
}

// message returns the compressed payload of a one-frame message.
func (p *stdPeer) message(msg []byte) []byte {
	if p.bits < 15 {
		w := 1 << p.bits
		if len(msg) > w {
			p.t.Fatalf("stdPeer: %d-byte message over a %d-byte window", len(msg), w)
		}
		dict := p.hist
		if p.noTakeover {
			dict = nil
		}
		if cut := len(dict) - (w - len(msg)); cut > 0 {
			dict = dict[cut:]
		}
		p.buf.Reset()
		fw, _ := flate.NewWriterDict(&p.buf, 6, dict)
		fw.Write(msg)
		fw.Flush()
		p.hist = append(p.hist, msg...)
		return bytes.TrimSuffix(p.buf.Bytes(), syncTail)
	}
	return p.frame(msg, true)
}

// frame returns the compressed payload of one frame of a message (15 bits).
func (p *stdPeer) frame(part []byte, fin bool) []byte {
	if p.w == nil {
		p.w, _ = flate.NewWriter(&p.buf, 6)
	}
	p.buf.Reset()
	p.w.Write(part)
	p.w.Flush()
	out := bytes.Clone(p.buf.Bytes())
	p.hist = append(p.hist, part...)
	if fin {
		out = bytes.TrimSuffix(out, syncTail)
		if p.noTakeover {
			p.w.Reset(&p.buf)
		}
	}
	return out
}

// stdInflater inflates messages with the standard library, one reader per
// message reset with the history as dictionary.
type stdInflater struct {
	r          io.ReadCloser
	hist       []byte
	noTakeover bool
}

func (s *stdInflater) message(data []byte) ([]byte, error) {
	in := bytes.NewReader(append(bytes.Clone(data), syncTail...))
	dict := s.hist
	if s.noTakeover {
		dict = nil
	}
	if len(dict) > 1<<15 {
		dict = dict[len(dict)-1<<15:]
	}
	if s.r == nil {
		s.r = flate.NewReaderDict(in, dict)
	} else {
		s.r.(flate.Resetter).Reset(in, dict)
	}
	out, err := io.ReadAll(s.r)
	if err == io.ErrUnexpectedEOF && in.Len() == 0 {
		err = nil // a sync-flushed stream ends without a final block
	}
	s.hist = append(s.hist, out...)
	return out, err
}

func interopMessages(bits int) [][]byte {
	var out [][]byte
	for _, m := range testCorpus(150) {
		if len(m) <= 1<<bits {
			out = append(out, m)
		}
	}
	return out
}

// Our compressed messages inflate with the standard library, and the
// standard library's with ours, message by message with shared history,
// at every window.
func TestInteropWithStdlib(t *testing.T) {
	for bits := 8; bits <= 15; bits++ {
		for _, noTakeover := range []bool{false, true} {
			t.Run(fmt.Sprintf("bits=%d/noTakeover=%v", bits, noTakeover), func(t *testing.T) {
				msgs := interopMessages(bits)
				window := 1 << bits

				// Ours → stdlib, including fragmented messages.
				d := newDeflate(&Options{}, Agreement{LocalNoContextTakeover: noTakeover, LocalMaxWindowBits: bits, RemoteMaxWindowBits: 15}, nil, nil)
				defer d.Close()
				inf := &stdInflater{noTakeover: noTakeover}
				ours, oursPlain := 0, 0
				for i, m := range msgs {
					frag := []int{0, 0, 50}[i%3]
					data := encodeMessage(t, d, m, frag)
					if frag == 0 {
						ours += len(data) - len(syncTail)
						oursPlain += len(m)
					}
					got, err := inf.message(bytes.TrimSuffix(data, syncTail))
					if err != nil || !bytes.Equal(got, m) {
						t.Fatalf("ours→stdlib message %d: %v", i, err)
					}
				}

				// Stdlib → ours, through a client Protocol.
				so := Options{ServerMaxWindowBits: bits, ServerNoContextTakeover: noTakeover}
				ce, se := handshake(t, so, so)
				defer ce.Close()
				se.Close()
				if a := ce.Agreement(); a.RemoteMaxWindowBits != bits || a.RemoteNoContextTakeover != noTakeover {
					t.Fatalf("agreement %+v", a)
				}
				p := ws.NewProtocol(ws.Client, ws.Config{Extensions: []ws.Extension{ce}})
				peer := newStdPeer(t, bits, noTakeover)
				theirs, theirsPlain := 0, 0
				var hist []byte
				if bits < 15 {
					// A stdlib writer per message is slow: fewer messages.
					msgs = msgs[:min(len(msgs), 60)]
				}
				for i, m := range msgs {
					payload := peer.message(m)
					if i%3 != 2 {
						theirs += len(payload)
						theirsPlain += len(m)
					}
					// Check the emulated peer itself keeps to the window.
					h := hist
					if noTakeover {
						h = nil
					}
					if _, _, err := inflateref.Inflate(h, append(bytes.Clone(payload), syncTail...), window); err != nil {
						t.Fatalf("stdPeer broke the window: %v", err)
					}
					hist = append(hist, m...)
					got, err := receive(t, p, appendFrame(nil, ws.OpText, true, ws.RSV1, payload))
					if err != nil || len(got) != 1 || !bytes.Equal(got[0], m) {
						t.Fatalf("stdlib→ours message %d: %v", i, err)
					}
				}
				t.Logf("unfragmented messages: ours %d/%d bytes (%.3f), stdlib level 6 %d/%d (%.3f)",
					ours, oursPlain, float64(ours)/float64(oursPlain), theirs, theirsPlain, float64(theirs)/float64(theirsPlain))
			})
		}
	}
	// Fragmented messages cut anywhere by a 15-bit stdlib peer.
	ce, _ := handshake(t, Options{}, Options{ServerMaxWindowBits: 15})
	defer ce.Close()
	p := ws.NewProtocol(ws.Client, ws.Config{Extensions: []ws.Extension{ce}})
	peer := newStdPeer(t, 15, false)
	for i, m := range windowCorpus()[:30] {
		var wire []byte
		parts := splitN(m, 1+i%4)
		for j, part := range parts {
			op, rsv := ws.OpContinuation, byte(0)
			if j == 0 {
				op, rsv = ws.OpText, ws.RSV1
			}
			wire = appendFrame(wire, op, j == len(parts)-1, rsv, peer.frame(part, j == len(parts)-1))
		}
		got, err := receive(t, p, wire)
		if err != nil || len(got) != 1 || !bytes.Equal(got[0], m) {
			t.Fatalf("message %d: %v", i, err)
		}
	}
}

// splitN cuts b into n pieces of about the same size.
func splitN(b []byte, n int) [][]byte {
	var out [][]byte
	for i := range n {
		out = append(out, b[i*len(b)/n:(i+1)*len(b)/n])
	}
	return out
}
