package compress

import (
	"bytes"
	"errors"
	"testing"

	"github.com/tetherws/tether/internal/inflateref"
	"github.com/tetherws/tether/ws"
)

// FuzzInflate feeds random bytes as the compressed frames of messages: no
// panic, output within the limit, and only 1002 or 1009 failures.
func FuzzInflate(f *testing.F) {
	for _, m := range testCorpus(4) {
		f.Add(stdDeflate(m, 6), uint16(0), uint16(4096), uint8(15))
		f.Add(stdDeflate(m, 1), uint16(len(m)/3), uint16(100), uint8(9))
	}
	f.Add(stdDeflate(make([]byte, 100000), 9), uint16(7), uint16(1000), uint8(12))
	f.Add(stdDeflateFinal([]byte("final block")), uint16(3), uint16(50), uint8(8))
	f.Add([]byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x02}, uint16(4), uint16(10), uint8(10))
	f.Fuzz(func(t *testing.T, data []byte, cut, limit uint16, bits uint8) {
		bits = 8 + bits%8
		d := newDeflate(&Options{}, Agreement{LocalMaxWindowBits: 15, RemoteMaxWindowBits: int(bits), RemoteNoContextTakeover: cut%5 == 0}, nil, nil)
		defer d.Close()
		// Three messages on the same extension, so that history is used:
		// the data cut in two frames, in three, and whole.
		for msg := range 3 {
			var frames [][]byte
			switch c := int(cut) % (len(data) + 1); msg {
			case 0:
				frames = [][]byte{data[:c], data[c:]}
			case 1:
				frames = [][]byte{data[:c/2], data[c/2 : c], data[c:]}
			default:
				frames = [][]byte{data}
			}
			budget := int64(limit)
			for i, p := range frames {
				fr := ws.Frame{Opcode: ws.OpBinary, Fin: i == len(frames)-1, Payload: p}
				if i == 0 {
					fr.Rsv = ws.RSV1
				} else {
					fr.Opcode = ws.OpContinuation
				}
				err := d.Decode(&fr, budget)
				if err != nil {
					var pe *ws.ProtocolError
					if !errors.As(err, &pe) || pe.Code != ws.CloseProtocolError && pe.Code != ws.CloseMessageTooBig {
						t.Fatalf("unexpected error %v", err)
					}
					return // ws fails the connection
				}
				if int64(len(fr.Payload)) > budget {
					t.Fatalf("frame of %d bytes over a budget of %d", len(fr.Payload), budget)
				}
				if fr.Rsv != 0 {
					t.Fatalf("rsv %#x left", fr.Rsv)
				}
				budget -= int64(len(fr.Payload))
			}
			if d.rPend != nil {
				t.Fatal("data kept after the message")
			}
		}
	})
}

// FuzzRoundTrip compresses random messages at a random window, level and
// fragmentation: the output inflates to the message with a strict decoder
// of exactly that window, and with Decode.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte("hello hello hello"), []byte("hello again"), uint8(0), uint8(0), uint16(0))
	f.Add(testCorpus(2)[0], testCorpus(2)[1], uint8(4), uint8(3), uint16(50))
	f.Add(make([]byte, 300), make([]byte, 5000), uint8(0), uint8(7), uint16(7))
	f.Fuzz(func(t *testing.T, m1, m2 []byte, bits, level uint8, frag uint16) {
		b := 8 + int(bits%8)
		lv := []int{0, 1, 3, 5, 6, 9, HuffmanOnly}[int(level)%7]
		noTakeover := bits&8 != 0
		a := Agreement{LocalNoContextTakeover: noTakeover, RemoteNoContextTakeover: noTakeover, LocalMaxWindowBits: b, RemoteMaxWindowBits: b}
		enc := newDeflate(&Options{Level: lv}, a, nil, nil)
		dec := newDeflate(&Options{}, a, nil, nil)
		defer enc.Close()
		defer dec.Close()
		var hist []byte
		for i, m := range [][]byte{m1, m2, m1} {
			data := encodeMessage(t, enc, m, int(frag)*(i%2))
			h := hist
			if noTakeover {
				h = nil
			}
			got, _, err := inflateref.Inflate(h, data, 1<<b)
			if err != nil || !bytes.Equal(got, m) {
				t.Fatalf("message %d: strict inflate: %v", i, err)
			}
			hist = append(hist, m...)
			fr := ws.Frame{Opcode: ws.OpBinary, Fin: true, Rsv: ws.RSV1, Payload: bytes.TrimSuffix(data, syncTail)}
			if err := dec.Decode(&fr, int64(len(m))); err != nil || !bytes.Equal(fr.Payload, m) {
				t.Fatalf("message %d: Decode: %v", i, err)
			}
		}
	})
}
