package runtime

import (
	"bytes"
	goruntime "runtime"
	"strings"
	"testing"

	"github.com/tetherws/tether/ws"
)

// Large frames are read straight into the message buffer (reader.direct):
// the messages come out whole and checked however the bytes are cut, in
// one frame or several, text and binary.
func TestLargeFramesReadIntoTheMessageBuffer(t *testing.T) {
	c, peer := acceptRaw(t, &ServerOptions{Options: Options{PingInterval: -1, DisableCompression: true}})
	text := []byte(strings.Repeat("ünïcödé text ", 30000)) // ~420 KiB, multi-byte sequences cut anywhere
	bin := seqPayload(3, 300<<10)
	for _, tc := range []struct {
		op     ws.Opcode
		msg    []byte
		frames int
		chunk  int
	}{
		{ws.OpText, text, 1, 7000},
		{ws.OpText, text, 3, 65536},
		{ws.OpBinary, bin, 1, 1 << 20},
		{ws.OpBinary, bin, 2, 1000},
	} {
		var wire []byte
		step := (len(tc.msg) + tc.frames - 1) / tc.frames
		op := tc.op
		for i := 0; i < len(tc.msg); i += step {
			end := min(i+step, len(tc.msg))
			wire = appendFrame(wire, end == len(tc.msg), op, tc.msg[i:end], true)
			op = ws.OpContinuation
		}
		go func() { // the server reads while the peer writes
			for i := 0; i < len(wire); i += tc.chunk {
				if _, err := peer.nc.Write(wire[i:min(i+tc.chunk, len(wire))]); err != nil {
					return
				}
			}
		}()
		m := recv(t, c)
		if m.Type != tc.op || !bytes.Equal(m.Data, tc.msg) {
			t.Fatalf("%v in %d frames: got %v, %d bytes", tc.op, tc.frames, m.Type, len(m.Data))
		}
		m.Release()
	}
}

// Invalid UTF-8 in the part of a frame read into the message buffer fails
// the connection with 1007, as anywhere else.
func TestInvalidUTF8InALargeFrameFails1007(t *testing.T) {
	c, peer := acceptRaw(t, &ServerOptions{Options: Options{PingInterval: -1, DisableCompression: true, CloseTimeout: -1}})
	bad := append(bytes.Repeat([]byte("a"), 100<<10), 0xc3, 0x28)
	peer.write(appendFrame(nil, true, ws.OpText, bad, true))
	closeAfterViolation(t, c)
	f := peer.expect(ws.OpClose)
	if code := ws.CloseCode(int(f.Payload[0])<<8 | int(f.Payload[1])); code != ws.CloseInvalidPayload {
		t.Fatalf("close code %v, want 1007", code)
	}
	peer.close()
	<-c.Done()
}

// With MaxMessageSize off, a frame header announcing a huge payload does
// not make the reader allocate it: the message buffer grows with the bytes
// that arrive.
func TestAnnouncedFrameLengthIsNotAllocatedAhead(t *testing.T) {
	c, peer := acceptRaw(t, &ServerOptions{Options: Options{PingInterval: -1, MaxMessageSize: -1, DisableCompression: true}})
	var before, after goruntime.MemStats
	goruntime.ReadMemStats(&before)
	h := ws.AppendHeader(nil, ws.Header{Fin: true, Opcode: ws.OpBinary, Length: 1 << 40, Masked: true, Mask: [4]byte{1, 2, 3, 4}})
	peer.write(append(h, make([]byte, 64<<10)...))
	// A ping after the payload bytes cannot be parsed (it is payload), so
	// wait until the reader has taken them: it holds them in its buffer.
	eventually(t, "the payload bytes read", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.proto.PayloadRemaining() == 1<<40-64<<10
	})
	goruntime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
		t.Fatalf("the reader allocated %d MiB for 64 KiB of a frame announcing 1 TiB", grew>>20)
	}
	peer.close()
	<-c.Done()
}

// A frame header is not a promise: on a fresh connection, a header
// announcing a message of MaxMessageSize followed by a few bytes makes the
// reader hold about eagerMin, not the announced size. Sixteen such peers
// would have made it allocate 16 MiB for 3 KiB received.
func TestAHeaderAloneDoesNotBuyItsAnnouncedBuffer(t *testing.T) {
	const conns, announced = 16, 1 << 20
	servers := make([]*Conn, conns)
	peers := make([]*rawPeer, conns)
	for i := range servers {
		servers[i], peers[i] = acceptRaw(t, &ServerOptions{Options: Options{PingInterval: -1, DisableCompression: true}})
	}
	remaining := func(c *Conn, want int64) func() bool {
		return func() bool {
			c.mu.Lock()
			defer c.mu.Unlock()
			return c.proto.PayloadRemaining() == want
		}
	}
	var before, after goruntime.MemStats
	goruntime.ReadMemStats(&before)
	h := ws.AppendHeader(nil, ws.Header{Fin: true, Opcode: ws.OpBinary, Length: announced, Masked: true, Mask: [4]byte{1, 2, 3, 4}})
	for i, p := range peers {
		p.write(append(h[:len(h):len(h)], make([]byte, 100)...))
		eventually(t, "the first bytes parsed", remaining(servers[i], announced-100))
		// The reader reads these only once it has sized the buffer for
		// the first ones and for the rest of the frame.
		p.write(make([]byte, 100))
		eventually(t, "the next bytes read", remaining(servers[i], announced-200))
	}
	goruntime.ReadMemStats(&after)
	// About eagerMin each; the rest of the process allocates meanwhile
	// too, hence the margin (a quarter of what the headers announce).
	if grew := after.TotalAlloc - before.TotalAlloc; grew > conns*announced/4 {
		t.Fatalf("the readers allocated %d KiB for %d headers announcing 1 MiB and 200 bytes each", grew>>10, conns)
	}
	for _, p := range peers {
		p.close()
	}
}

// What a reader allocates ahead of the bytes: all of an announced message
// once the connection has received as much, else at most eagerMin or
// what it received, and never more than directMax at once.
func TestEagerSizeFollowsTheBytesReceived(t *testing.T) {
	for _, tc := range []struct {
		n        int64
		received uint64
		want     int
	}{
		{1 << 20, 300, eagerMin},
		{1 << 20, 200 << 10, 200 << 10},
		{1 << 20, 5 << 20, 1 << 20},
		{300 << 10, 300 << 10, 300 << 10},
		{1000, 0, 1000},
		{1 << 40, 1 << 40, directMax},
		{0, 1 << 20, 0},
	} {
		if got := eagerSize(tc.n, tc.received); got != tc.want {
			t.Errorf("eagerSize(%d, %d) = %d, want %d", tc.n, tc.received, got, tc.want)
		}
	}
}
