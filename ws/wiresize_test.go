package ws

import (
	"bytes"
	"testing"
)

// encodeFrame builds a masked client frame with the given bits.
func encodeFrame(op Opcode, fin bool, rsv byte, payload []byte) []byte {
	h := Header{Fin: fin, Rsv: rsv, Opcode: op, Masked: true, Mask: [4]byte{1, 2, 3, 4}, Length: int64(len(payload))}
	b := AppendHeader(nil, h)
	start := len(b)
	b = append(b, payload...)
	Mask(h.Mask, 0, b[start:])
	return b
}

// A frame that an extension decodes is bounded on the wire by the remaining
// budget plus encoding overhead, and exactly by the budget once decoded: a
// message at the limit whose last frame encodes nothing in one byte passes.
func TestDecodedFrameWireLengthAllowsEncodingOverhead(t *testing.T) {
	// "d" decodes a frame by dropping every byte 'x' (a stand-in for
	// compression overhead) and clearing RSV1.
	drop := func(f *Frame, limit int64) error {
		f.Payload = bytes.ReplaceAll(f.Payload, []byte("x"), nil)
		f.Rsv = 0
		if limit >= 0 && int64(len(f.Payload)) > limit {
			return &ProtocolError{Code: CloseMessageTooBig, Msg: "frame exceeds limit"}
		}
		return nil
	}
	tests := []struct {
		name   string
		frames [][]byte
		code   CloseCode // 0: the message passes
	}{
		{"last frame of a message at the limit carries one byte of overhead", [][]byte{
			encodeFrame(OpBinary, false, RSV1, bytes.Repeat([]byte("a"), 100)),
			encodeFrame(OpContinuation, true, 0, []byte("x")),
		}, 0},
		{"frame with overhead under the wire bound decodes within the limit", [][]byte{
			encodeFrame(OpBinary, true, RSV1, append(bytes.Repeat([]byte("a"), 100), bytes.Repeat([]byte("x"), 1000)...)),
		}, 0},
		{"wire length past budget plus overhead fails before the payload", [][]byte{
			encodeFrame(OpBinary, true, RSV1, bytes.Repeat([]byte("x"), 100+100/8+1025)),
		}, CloseMessageTooBig},
		{"decoded output past the limit fails", [][]byte{
			encodeFrame(OpBinary, true, RSV1, bytes.Repeat([]byte("a"), 101)),
		}, CloseMessageTooBig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewProtocol(Server, Config{MaxMessageSize: 100, Extensions: []Extension{&fakeExt{name: "d", rsv: RSV1, decode: drop}}})
			var got []byte
			var err error
			for _, fr := range tt.frames {
				var evs []Event
				evs, err = drain(t, p, fr)
				for _, ev := range evs {
					got = append(got, ev.Payload...)
				}
				if err != nil {
					break
				}
			}
			switch {
			case tt.code == 0 && err != nil:
				t.Fatalf("unexpected failure: %v", err)
			case tt.code == 0 && len(got) != 100:
				t.Fatalf("got %d bytes, want 100", len(got))
			case tt.code != 0:
				pe, ok := err.(*ProtocolError)
				if !ok || pe.Code != tt.code {
					t.Fatalf("err = %v, want code %d", err, tt.code)
				}
			}
		})
	}
}
