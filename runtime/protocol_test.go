package runtime

import (
	"bytes"
	"context"
	"errors"
	"hash/crc32"
	"iter"
	"strings"
	"testing"

	"github.com/tetherws/tether/ws"
)

// rawFrames is what a raw peer sends: frames, in order.
type rawFrames []struct {
	fin     bool
	op      ws.Opcode
	payload string
}

func TestBadInputFromThePeerFailsTheConnection(t *testing.T) {
	type frames = rawFrames
	tests := []struct {
		name     string
		opts     Options
		send     frames
		raw      []byte // sent after the frames, as is
		code     ws.CloseCode
		reason   string
		sentinel error
	}{
		{"invalid UTF-8", Options{}, frames{{true, ws.OpText, "ok \xff"}}, nil,
			ws.CloseInvalidPayload, "invalid UTF-8 at position 3", ws.ErrInvalidUTF8},
		{"invalid UTF-8 across fragments", Options{}, frames{{false, ws.OpText, "h\xc3"}, {true, ws.OpContinuation, "("}}, nil,
			ws.CloseInvalidPayload, "invalid UTF-8 at position 2", ws.ErrInvalidUTF8},
		{"truncated UTF-8 at the end", Options{}, frames{{true, ws.OpText, "h\xc3"}}, nil,
			ws.CloseInvalidPayload, "incomplete UTF-8 sequence at end of message", ws.ErrInvalidUTF8},
		{"invalid UTF-8 in a close reason", Options{}, frames{{true, ws.OpClose, "\x03\xe8\xff"}}, nil,
			ws.CloseInvalidPayload, "invalid UTF-8 in close reason at position 0", ws.ErrInvalidUTF8},
		{"message over the limit", Options{MaxMessageSize: 1000}, frames{{true, ws.OpBinary, strings.Repeat("x", 1001)}}, nil,
			ws.CloseMessageTooBig, "frame with 1001 bytes exceeds limit of 1000 bytes", ws.ErrMessageTooBig},
		{"fragmented message over the limit", Options{MaxMessageSize: 1000},
			frames{{false, ws.OpBinary, strings.Repeat("x", 600)}, {true, ws.OpContinuation, strings.Repeat("x", 401)}}, nil,
			ws.CloseMessageTooBig, "frame with 401 bytes after reading 600 bytes exceeds limit of 1000 bytes", ws.ErrMessageTooBig},
		{"frame over the frame limit", Options{MaxMessageSize: 1000, MaxFrameSize: 100},
			frames{{false, ws.OpBinary, strings.Repeat("x", 100)}, {true, ws.OpContinuation, strings.Repeat("x", 101)}}, nil,
			ws.CloseMessageTooBig, "frame with 101 bytes after reading 100 bytes exceeds limit of 100 bytes", ws.ErrMessageTooBig},
		{"unmasked frame from a client", Options{}, nil, appendFrame(nil, true, ws.OpText, []byte("hi"), false),
			ws.CloseProtocolError, "incorrect masking", ws.ErrProtocol},
		{"reserved bits", Options{}, nil, []byte{0x80 | 0x40 | 0x1, 0x80, 1, 2, 3, 4},
			ws.CloseProtocolError, "reserved bits must be 0", ws.ErrProtocol},
		{"unknown opcode", Options{}, nil, []byte{0x83, 0x80, 1, 2, 3, 4},
			ws.CloseProtocolError, "invalid opcode 3", ws.ErrProtocol},
		{"unexpected continuation", Options{}, frames{{true, ws.OpContinuation, "x"}}, nil,
			ws.CloseProtocolError, "unexpected continuation frame", ws.ErrProtocol},
		{"fragmented ping", Options{}, frames{{false, ws.OpPing, "x"}}, nil,
			ws.CloseProtocolError, "fragmented control frame", ws.ErrProtocol},
		{"ping of 126 bytes", Options{}, frames{{true, ws.OpPing, strings.Repeat("p", 126)}}, nil,
			ws.CloseProtocolError, "control frame too long", ws.ErrProtocol},
		{"close frame of one byte", Options{}, frames{{true, ws.OpClose, "\x03"}}, nil,
			ws.CloseProtocolError, "close frame too short", ws.ErrProtocol},
		{"invalid close code", Options{}, frames{{true, ws.OpClose, "\x03\xed"}}, nil,
			ws.CloseProtocolError, "invalid status code 1005", ws.ErrProtocol},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, peer := acceptRaw(t, &ServerOptions{Options: tt.opts})
			peer.send(true, ws.OpText, []byte("before"))
			for _, f := range tt.send {
				peer.send(f.fin, f.op, []byte(f.payload))
			}
			if tt.raw != nil {
				peer.write(tt.raw)
			}
			if m := recv(t, c); m.Text() != "before" {
				t.Fatalf("message before the failure: %q", m.Data)
			}
			// The application sees the end of Messages and closes: the
			// failure's close frame goes out then.
			closeAfterViolation(t, c)
			peer.expectClose(tt.code, tt.reason)
			peer.expectEOF() // the server closes TCP first
			peer.close()
			f := ws.CloseFrame{Code: tt.code, Reason: tt.reason}.String()
			wantEnd(t, "server", c, "sent "+f+"; no close frame received", false)
			err := c.Err()
			if !errors.Is(err, tt.sentinel) {
				t.Errorf("Err = %v, cause %v: want it to match %v", err, errors.Unwrap(err), tt.sentinel)
			}
			var pe *ws.ProtocolError
			if !errors.As(err, &pe) || pe.Code != tt.code {
				t.Errorf("cause = %#v, want a *ws.ProtocolError with code %v", errors.Unwrap(err), tt.code)
			}
		})
	}
}

func TestBadInputFromTheServerFailsTheClient(t *testing.T) {
	c, peer := dialRaw(t, &DialOptions{Options: Options{MaxMessageSize: 10}})
	peer.send(true, ws.OpBinary, []byte("0123456789")) // just at the limit
	if m := recv(t, c); len(m.Data) != 10 {
		t.Fatalf("got %d bytes", len(m.Data))
	}
	peer.send(true, ws.OpBinary, []byte("0123456789A"))
	closeAfterViolation(t, c)
	peer.expectClose(ws.CloseMessageTooBig, "frame with 11 bytes exceeds limit of 10 bytes")
	// The client waits for the server to close TCP.
	peer.send(true, ws.OpClose, closePayload(ws.CloseMessageTooBig, ""))
	peer.close()
	err := waitDone(t, c)
	if err == nil || err.Error() != "sent 1009 (message too big) frame with 11 bytes exceeds limit of 10 bytes; no close frame received" {
		t.Fatalf("Err = %v", err)
	}
	if !errors.Is(err, ws.ErrMessageTooBig) {
		t.Fatalf("cause = %v", errors.Unwrap(err))
	}
	var ce *ws.CloseError
	if !errors.As(err, &ce) || ce.Code() != ws.CloseAbnormal {
		t.Fatalf("Code = %v, want 1006: the close frame was not read", ce.Code())
	}
}

func TestMessagesUpToTheSizeLimitPass(t *testing.T) {
	tests := []struct {
		name  string
		limit int64
		sizes []int // fragments
	}{
		{"default limit, one frame of 1 MiB", 0, []int{1 << 20}},
		{"one frame at the limit", 1000, []int{1000}},
		{"fragments adding up to the limit", 1000, []int{500, 499, 1}},
		{"no limit", -1, []int{3 << 20}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client, server := pair(t, &ServerOptions{Options: Options{MaxMessageSize: tt.limit}}, nil)
			var parts [][]byte
			total := 0
			for i, n := range tt.sizes {
				parts = append(parts, bytes.Repeat([]byte{byte('a' + i)}, n))
				total += n
			}
			if err := client.SendFragments(testCtx(t), ws.OpBinary, func(yield func([]byte) bool) {
				for _, p := range parts {
					if !yield(p) {
						return
					}
				}
			}); err != nil {
				t.Fatal(err)
			}
			m := recv(t, server)
			if !bytes.Equal(m.Data, bytes.Join(parts, nil)) {
				t.Fatalf("got %d bytes, want %d", len(m.Data), total)
			}
			m.Release()
		})
	}
}

func TestStreamingDeliversPiecesWithFirstAndFin(t *testing.T) {
	client, server := pair(t, &ServerOptions{Options: Options{Streaming: true}}, nil)
	ctx := testCtx(t)
	if err := client.SendFragments(ctx, ws.OpText, fragments("one ", "two ", "three")); err != nil {
		t.Fatal(err)
	}
	if err := client.SendBinary(ctx, []byte("single")); err != nil {
		t.Fatal(err)
	}
	var text []byte
	for i := 0; ; i++ {
		m := recv(t, server)
		if m.Type != ws.OpText || m.First != (i == 0) {
			t.Fatalf("piece %d: type %v First %v", i, m.Type, m.First)
		}
		text = append(text, m.Data...)
		m.Release()
		if m.Fin {
			break
		}
	}
	if string(text) != "one two three" {
		t.Fatalf("pieces joined = %q", text)
	}
	if m := recv(t, server); m.Type != ws.OpBinary || !m.First || !m.Fin || string(m.Data) != "single" {
		t.Fatalf("single-frame message = %+v", m)
	}
}

func TestStreamingPassesA64MiBMessageInBoundedMemory(t *testing.T) {
	const (
		size     = 64 << 20
		fragment = 1 << 20
		bound    = 64 << 10 // no piece is larger than this
	)
	// Uncompressed frames are delivered in pieces of at most a read; a
	// compressed frame is decoded whole, so with permessage-deflate the
	// sender's frame size bounds the pieces (see Options.Streaming).
	client, server := pair(t, &ServerOptions{Options: Options{Streaming: true, MaxMessageSize: -1, DisableCompression: true}}, nil)
	chunk := make([]byte, fragment)
	for i := range chunk {
		chunk[i] = byte(i * 7)
	}
	var frags iter.Seq[[]byte] = func(yield func([]byte) bool) {
		for range size / fragment {
			if !yield(chunk) {
				return
			}
		}
	}
	sent := make(chan error, 1)
	go func() { sent <- client.SendFragments(context.Background(), ws.OpBinary, frags) }()
	var want uint32
	for range size / fragment {
		want = crc32.Update(want, crc32.IEEETable, chunk)
	}
	var got uint32
	total, pieces, largest := 0, 0, 0
	for {
		m := recv(t, server)
		if m.First != (pieces == 0) {
			t.Fatalf("piece %d: First = %v", pieces, m.First)
		}
		pieces++
		total += len(m.Data)
		largest = max(largest, len(m.Data))
		got = crc32.Update(got, crc32.IEEETable, m.Data)
		m.Release()
		if m.Fin {
			break
		}
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	if total != size || got != want {
		t.Fatalf("received %d bytes (crc %08x), want %d (crc %08x)", total, got, size, want)
	}
	if largest > bound {
		t.Fatalf("a piece of %d bytes: memory is not bounded", largest)
	}
	t.Logf("%d pieces, largest %d bytes", pieces, largest)
}

func TestDataReceivedWhileClosingIsDelivered(t *testing.T) {
	c, peer := dialRaw(t, nil)
	closed := make(chan error, 1)
	go func() { closed <- c.Close(ws.CloseNormal, "") }()
	peer.expectClose(ws.CloseNormal, "")
	peer.send(true, ws.OpText, []byte("late but delivered"))
	peer.send(true, ws.OpClose, closePayload(ws.CloseNormal, ""))
	peer.close()
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if m, ok := <-c.Messages(); !ok || m.Text() != "late but delivered" {
		t.Fatalf("got %q, %v", m.Data, ok)
	}
	wantEnd(t, "client", c, "sent 1000 (OK); then received 1000 (OK)", true)
}

func TestFramesAfterTheCloseFrameAreIgnored(t *testing.T) {
	c, peer := acceptRaw(t, nil)
	// The close, then more frames in the same write.
	b := appendFrame(nil, true, ws.OpClose, closePayload(ws.CloseNormal, ""), true)
	b = appendFrame(b, true, ws.OpText, []byte("ignored"), true)
	b = appendFrame(b, true, ws.OpPing, []byte("ignored"), true)
	peer.write(b)
	peer.expectClose(ws.CloseNormal, "")
	peer.expectEOF() // no pong, no more frames
	peer.close()
	wantEnd(t, "server", c, "received 1000 (OK); then sent 1000 (OK)", true)
}

func TestLeftoverBytesAfterTheHandshakeAreNotLost(t *testing.T) {
	// A server that sends its first frames in the same write as the 101.
	url, peers := rawServer(t)
	done := make(chan struct{})
	go func() {
		defer close(done)
		p := <-peers
		p.send(true, ws.OpText, []byte("right after the handshake"))
	}()
	c := dial(t, url, nil)
	<-done
	if m := recv(t, c); m.Text() != "right after the handshake" {
		t.Fatalf("got %q", m.Data)
	}
}
