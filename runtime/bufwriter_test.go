package runtime

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tetherws/tether/ws"
)

// readMessageFrames reads the frames of one data message at the raw peer
// and returns them.
func readMessageFrames(t *testing.T, p *rawPeer) []rawFrame {
	t.Helper()
	var frames []rawFrame
	for {
		f, err := p.readFrame()
		if err != nil {
			t.Fatalf("raw peer, after %d frames: %v", len(frames), err)
		}
		frames = append(frames, f)
		if f.Fin {
			return frames
		}
	}
}

// payload joins the payloads of frames and checks their opcodes: the
// message's type, then continuations.
func payload(t *testing.T, frames []rawFrame, typ ws.Opcode) []byte {
	t.Helper()
	var b []byte
	for i, f := range frames {
		want := ws.OpContinuation
		if i == 0 {
			want = typ
		}
		if f.Op != want {
			t.Fatalf("frame %d is %v, want %v", i, f.Op, want)
		}
		b = append(b, f.Payload...)
	}
	return b
}

// io.Copy of a 10 MiB file through a BufferedWriter makes a frame per
// 64 KiB buffer, not one per read: 160 frames.
func TestBufferedWriterCopiesA10MiBFileInFewFrames(t *testing.T) {
	data := make([]byte, 10<<20)
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	path := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	c, p := dialRaw(t, nil)
	type result struct {
		frames []rawFrame
		data   []byte
	}
	got := make(chan result, 1)
	go func() {
		frames := readMessageFrames(t, p)
		got <- result{frames, payload(t, frames, ws.OpBinary)}
	}()

	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := c.NewBufferedWriter(testCtx(t), ws.OpBinary, 0, SendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(w, f)
	if err != nil || n != int64(len(data)) {
		t.Fatalf("io.Copy: %d, %v", n, err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	res := <-got
	t.Logf("%d frames", len(res.frames))
	if len(res.frames) > 200 {
		t.Errorf("%d frames, want at most 200", len(res.frames))
	}
	if sha256.Sum256(res.data) != sha256.Sum256(data) {
		t.Errorf("the peer received %d bytes that differ from the file's %d", len(res.data), len(data))
	}
}

// Small writes fill the buffer; a frame goes out only when it is full and
// more data follows, so every frame but the last is exactly the buffer.
func TestBufferedWriterFramesOnBufferBoundaries(t *testing.T) {
	c, p := dialRaw(t, nil)
	w, err := c.NewBufferedWriter(testCtx(t), ws.OpText, 1000, SendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var want strings.Builder
	for i := range 500 {
		s := fmt.Sprintf("%06d,", i) // 7 bytes: writes straddle the frames
		want.WriteString(s)
		if _, err := io.WriteString(w, s); err != nil {
			t.Fatal(err)
		}
	}
	// One write larger than the buffer.
	big := strings.Repeat("x", 2400)
	want.WriteString(big)
	if _, err := io.WriteString(w, big); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	frames := readMessageFrames(t, p)
	var sizes []int
	for _, f := range frames {
		sizes = append(sizes, len(f.Payload))
	}
	if fmt.Sprint(sizes) != "[1000 1000 1000 1000 1000 900]" {
		t.Errorf("frame sizes %v, want five of 1000 and the rest", sizes)
	}
	if got := payload(t, frames, ws.OpText); string(got) != want.String() {
		t.Error("the message differs from what was written")
	}
}

// A message that fits in the buffer goes out at Close as one frame, like
// Send.
func TestBufferedWriterSmallMessageIsOneFrame(t *testing.T) {
	c, p := dialRaw(t, nil)
	w, err := c.NewBufferedWriter(testCtx(t), ws.OpText, 0, SendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"h", "e", "l", "l", "o"} {
		if _, err := io.WriteString(w, s); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f := p.expect(ws.OpText)
	if !f.Fin || string(f.Payload) != "hello" {
		t.Fatalf("got fin=%v %q, want one final frame \"hello\"", f.Fin, f.Payload)
	}
}

// Text that is not UTF-8 is refused: nothing is sent when it is found
// before any frame went out; afterwards the message is abandoned and the
// connection fails with 1011.
func TestBufferedWriterRefusesInvalidText(t *testing.T) {
	t.Run("before any frame", func(t *testing.T) {
		c, p := dialRaw(t, nil)
		w, _ := c.NewBufferedWriter(testCtx(t), ws.OpText, 16, SendOptions{})
		w.Write([]byte{'a', 0xff})
		if err := w.Close(); !errors.Is(err, ErrInvalidUTF8) {
			t.Fatalf("Close: %v, want ErrInvalidUTF8", err)
		}
		if err := c.SendText(testCtx(t), "next"); err != nil {
			t.Fatal(err)
		}
		if f := p.expect(ws.OpText); string(f.Payload) != "next" {
			t.Fatalf("got %q", f.Payload)
		}
	})
	t.Run("after a frame", func(t *testing.T) {
		c, p := dialRaw(t, nil)
		w, _ := c.NewBufferedWriter(testCtx(t), ws.OpText, 4, SendOptions{})
		if _, err := w.Write([]byte("abcd\xffefgh")); !errors.Is(err, ErrInvalidUTF8) {
			t.Fatalf("Write: %v, want ErrInvalidUTF8", err)
		}
		if err := w.Close(); !errors.Is(err, ErrInvalidUTF8) {
			t.Fatalf("Close: %v, want ErrInvalidUTF8", err)
		}
		if f := p.expect(ws.OpText); string(f.Payload) != "abcd" || f.Fin {
			t.Fatalf("first frame fin=%v %q", f.Fin, f.Payload)
		}
		p.expectClose(ws.CloseInternalError, reasonFragmentError)
	})
}

// writeCountingConn counts the bytes written to the network.
type writeCountingConn struct {
	net.Conn
	written atomic.Int64
}

func (c *writeCountingConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.written.Add(int64(n))
	return n, err
}

// With permessage-deflate, the frames of a buffered message are one
// compressed stream: 10 MiB of JSON-like text costs a fraction of it on
// the wire, and arrives whole.
func TestBufferedWriterCompressesTheStream(t *testing.T) {
	sink := newConnSink()
	url := startServer(t, &Server{Handler: sink.handler, Options: ServerOptions{Options: Options{MaxMessageSize: -1}}})
	nc, err := net.Dial("tcp", strings.TrimSuffix(strings.TrimPrefix(url, "ws://"), "/"))
	if err != nil {
		t.Fatal(err)
	}
	cc := &writeCountingConn{Conn: nc}
	c := dial(t, url, &DialOptions{NetConn: cc})
	server := sink.next(t)
	if len(c.Extensions()) == 0 {
		t.Fatal("no compression negotiated")
	}
	var plain bytes.Buffer
	for i := 0; plain.Len() < 2<<20; i++ {
		fmt.Fprintf(&plain, `{"seq":%d,"user":"user%d","text":"message number %d","tags":["a","b"]}`+"\n", i, i%97, i)
	}
	before := cc.written.Load()
	w, err := c.NewBufferedWriter(testCtx(t), ws.OpText, 0, SendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(w, bytes.NewReader(plain.Bytes())); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	m := recv(t, server)
	if !bytes.Equal(m.Data, plain.Bytes()) {
		t.Fatalf("the server received %d bytes that differ from the %d sent", len(m.Data), plain.Len())
	}
	wire := cc.written.Load() - before
	t.Logf("%d bytes of text, %d on the wire", plain.Len(), wire)
	if wire > int64(plain.Len()/4) {
		t.Errorf("%d bytes on the wire for %d of text: not compressed", wire, plain.Len())
	}
}
