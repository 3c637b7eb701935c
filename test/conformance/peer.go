package conformance

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetherws/tether/test/conformance/wire"
)

// Side is the side of tether under test.
type Side int

const (
	// ServerSide tests tether's Server: the raw peer is a fuzzing client.
	ServerSide Side = iota
	// ClientSide tests tether's client (Dial): the raw peer is a fuzzing
	// server.
	ClientSide
)

func (s Side) String() string {
	if s == ServerSide {
		return "server"
	}
	return "client"
}

// Peer is the raw end of one connection: it sends frames built with the
// suite's own wire package and checks what tether does. It masks what it
// sends when it plays the client, and checks that tether masks exactly
// when tether is the client.
type Peer struct {
	Side Side // the side of tether under test
	cfg  *Config
	nc   net.Conn
	r    wire.Reader

	// PMD is the permessage-deflate agreement, nil when not negotiated.
	PMD  *wire.PMD
	defl *wire.Deflater
	infl *wire.Inflater

	// ended is set once the connection has been closed by a case.
	ended bool
	logMu sync.Mutex
	log   []string
	// work counts the units of work the case has moved, which lengthen
	// every wait.
	work atomic.Int64
}

func newPeer(side Side, cfg *Config, nc net.Conn, r wire.Reader, pmd *wire.PMD) *Peer {
	p := &Peer{Side: side, cfg: cfg, nc: nc, r: r, PMD: pmd}
	if pmd != nil {
		// The raw peer sends with its own side's parameters and receives
		// with tether's.
		if side == ServerSide { // raw is the client
			p.defl = &wire.Deflater{WindowBits: pmd.ClientBits(), NoContextTakeover: pmd.ClientNoContextTakeover}
			p.infl = &wire.Inflater{WindowBits: pmd.ServerBits(), NoContextTakeover: pmd.ServerNoContextTakeover}
		} else {
			p.defl = &wire.Deflater{WindowBits: pmd.ServerBits(), NoContextTakeover: pmd.ServerNoContextTakeover}
			p.infl = &wire.Inflater{WindowBits: pmd.ClientBits(), NoContextTakeover: pmd.ClientNoContextTakeover}
		}
	}
	return p
}

func (p *Peer) logf(format string, args ...any) {
	p.logMu.Lock()
	defer p.logMu.Unlock()
	if len(p.log) > 400 {
		p.log = append(p.log[:0], "…")
	}
	p.log = append(p.log, fmt.Sprintf(format, args...))
}

// Transcript returns the last frames sent (>) and received (<).
func (p *Peer) Transcript(n int) string {
	p.logMu.Lock()
	defer p.logMu.Unlock()
	l := p.log
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, " | ")
}

// rawMasks reports whether the raw peer masks its frames (it is the client).
func (p *Peer) rawMasks() bool { return p.Side == ServerSide }

// ------------------------------------------------------------------ sending

// Chop sizes for Send: every frame in its own write, or the whole buffer
// in one write (0); a positive chop writes that many bytes per write.
const (
	ChopNone  = 0
	ChopFrame = -1
)

// F is a final frame.
func F(op byte, payload []byte) wire.Frame {
	return wire.Frame{Fin: true, Opcode: op, Payload: payload}
}

// Frag is a frame with an explicit FIN bit.
func Frag(op byte, payload []byte, fin bool) wire.Frame {
	return wire.Frame{Fin: fin, Opcode: op, Payload: payload}
}

// Rsv returns f with reserved bits rsv.
func Rsv(f wire.Frame, rsv byte) wire.Frame { f.Rsv = rsv; return f }

// Encode serialises frames as the raw peer sends them.
func (p *Peer) Encode(frames ...wire.Frame) []byte {
	p.moved(len(frames) * workPerFrame)
	var b []byte
	for _, f := range frames {
		b = wire.Append(b, f, p.rawMasks())
	}
	return b
}

// Send writes frames: all in one write (ChopNone), one write per frame
// (ChopFrame) or in writes of chop bytes.
func (p *Peer) Send(chop int, frames ...wire.Frame) error {
	for _, f := range frames {
		p.logf("> %v", f)
	}
	if chop == ChopFrame {
		for _, f := range frames {
			if err := p.Write(p.Encode(f), 0); err != nil {
				return err
			}
		}
		return nil
	}
	return p.Write(p.Encode(frames...), chop)
}

// Write writes raw bytes, in writes of chop bytes when chop > 0.
func (p *Peer) Write(b []byte, chop int) error {
	if chop <= 0 {
		chop = max(len(b), 1)
	}
	p.moved(len(b) + (len(b)+chop-1)/chop*workPerFrame)
	_ = p.nc.SetWriteDeadline(time.Now().Add(p.wait()))
	for len(b) > 0 {
		n := min(chop, len(b))
		if _, err := p.nc.Write(b[:n]); err != nil {
			return fmt.Errorf("write: %w", err)
		}
		b = b[n:]
	}
	return nil
}

// MessageFrames builds the frames of one data message, fragmented into
// frames of frag payload bytes (0: one frame). When compress is true (and
// permessage-deflate was negotiated) the message is compressed first and
// the first frame carries RSV1.
func (p *Peer) MessageFrames(op byte, data []byte, frag int, compress bool) []wire.Frame {
	rsv := byte(0)
	if compress && p.defl != nil {
		p.moved(len(data) * workPerDeflatedByte)
		data = p.defl.Compress(data)
		rsv = wire.RSV1
	}
	if frag <= 0 || len(data) <= frag {
		return []wire.Frame{{Fin: true, Rsv: rsv, Opcode: op, Payload: data}}
	}
	var fs []wire.Frame
	for i := 0; i < len(data); i += frag {
		end := min(i+frag, len(data))
		f := wire.Frame{Fin: end == len(data), Opcode: wire.OpCont, Payload: data[i:end]}
		if i == 0 {
			f.Opcode, f.Rsv = op, rsv
		}
		fs = append(fs, f)
	}
	return fs
}

// SendMessage sends one data message, see MessageFrames. Frames are written
// with one write for the whole message (chop 0) or as Send chops them.
func (p *Peer) SendMessage(op byte, data []byte, frag, chop int, compress bool) error {
	fs := p.MessageFrames(op, data, frag, compress)
	if len(fs) > 8 {
		p.logf("> %s message of %d bytes in %d frames", wire.OpName(op), len(data), len(fs))
		return p.Write(p.Encode(fs...), chop)
	}
	return p.Send(chop, fs...)
}

// -------------------------------------------------------------- receiving

var errTimeout = errors.New("timeout")

// ReadFrame reads the next frame within the wait the work so far allows
// and checks the masking rule of RFC 6455 §5.1.
func (p *Peer) ReadFrame() (wire.Frame, error) {
	return p.readFrame(p.wait())
}

func (p *Peer) readFrame(d time.Duration) (wire.Frame, error) {
	_ = p.nc.SetReadDeadline(time.Now().Add(d))
	f, err := p.r.ReadFrame()
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return f, fmt.Errorf("%w after %v", errTimeout, d)
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			p.logf("< EOF")
		} else {
			p.logf("< %v", err)
		}
		return f, err
	}
	p.logf("< %v", f)
	p.moved(len(f.Payload) + workPerFrame)
	switch {
	case p.Side == ClientSide && !f.Masked:
		return f, fmt.Errorf("client sent an unmasked %s frame (RFC 6455 §5.1: a client MUST mask every frame)", wire.OpName(f.Opcode))
	case p.Side == ServerSide && f.Masked:
		return f, fmt.Errorf("server sent a masked %s frame (RFC 6455 §5.1: a server MUST NOT mask)", wire.OpName(f.Opcode))
	}
	return f, nil
}

func describe(f wire.Frame, err error) string {
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return "TCP closed"
		}
		return err.Error()
	}
	return f.String()
}

// ReadMessage reads one data message (its frames must not interleave with
// anything) and returns its type and payload, decompressed when it was
// compressed.
func (p *Peer) ReadMessage(what string) (byte, []byte, error) {
	f, err := p.ReadFrame()
	if err != nil || f.Opcode != wire.OpText && f.Opcode != wire.OpBinary {
		if err == nil && f.Opcode == wire.OpCont {
			return 0, nil, fmt.Errorf("want %s, got a continuation frame with no message to continue", what)
		}
		return 0, nil, fmt.Errorf("want %s, got %s", what, describe(f, err))
	}
	op := f.Opcode
	compressed := false
	switch {
	case f.Rsv == wire.RSV1 && p.PMD != nil:
		compressed = true
	case f.Rsv != 0:
		return 0, nil, fmt.Errorf("want %s, got a frame with RSV=%d (no extension negotiated uses it)", what, f.Rsv)
	}
	data := f.Payload
	for !f.Fin {
		f, err = p.ReadFrame()
		if err != nil || f.Opcode != wire.OpCont {
			return 0, nil, fmt.Errorf("want the continuation of %s, got %s", what, describe(f, err))
		}
		if f.Rsv != 0 {
			return 0, nil, fmt.Errorf("continuation frame with RSV=%d (RFC 7692 §6.1: RSV1 only on the first frame)", f.Rsv)
		}
		data = append(data, f.Payload...)
	}
	if compressed {
		p.moved(len(data) * workPerDeflatedByte)
		data, err = p.infl.Decompress(data, 32<<20)
		if err != nil {
			return 0, nil, fmt.Errorf("%s: compressed payload is invalid: %w", what, err)
		}
	}
	return op, data, nil
}

func short(b []byte) string {
	if len(b) <= 40 {
		return fmt.Sprintf("%q", b)
	}
	return fmt.Sprintf("%d bytes %q…", len(b), b[:24])
}

// ExpectMessage reads one message and checks it equals op/data.
func (p *Peer) ExpectMessage(op byte, data []byte) error {
	what := fmt.Sprintf("the echo of a %s message of %d bytes", wire.OpName(op), len(data))
	gop, got, err := p.ReadMessage(what)
	if err != nil {
		return err
	}
	if gop != op {
		return fmt.Errorf("want %s, got a %s message", what, wire.OpName(gop))
	}
	if !bytes.Equal(got, data) {
		return fmt.Errorf("echo differs: got %s, want %s", short(got), short(data))
	}
	return nil
}

// Echo sends a message and expects it back.
func (p *Peer) Echo(op byte, data []byte, frag, chop int) error {
	if err := p.SendMessage(op, data, frag, chop, false); err != nil {
		return err
	}
	return p.ExpectMessage(op, data)
}

// ExpectPong reads a pong with this payload.
func (p *Peer) ExpectPong(payload []byte) error {
	f, err := p.ReadFrame()
	if err != nil || f.Opcode != wire.OpPong {
		return fmt.Errorf("want PONG %s, got %s", short(payload), describe(f, err))
	}
	if !f.Fin || f.Rsv != 0 {
		return fmt.Errorf("malformed pong: %v", f)
	}
	if !bytes.Equal(f.Payload, payload) {
		return fmt.Errorf("pong payload %s, want %s", short(f.Payload), short(payload))
	}
	return nil
}

// codeString formats a close code; 0 means an empty close payload.
func codeString(c int) string {
	if c == 0 {
		return "empty close"
	}
	return fmt.Sprint(c)
}

// ExpectClose reads a close frame whose code is one of codes (0 for an
// empty payload). Anything else first is an error.
func (p *Peer) ExpectClose(codes ...int) (wire.Frame, error) {
	return p.expectClose(p.wait(), codes...)
}

func (p *Peer) expectClose(d time.Duration, codes ...int) (wire.Frame, error) {
	want := make([]string, len(codes))
	for i, c := range codes {
		want[i] = codeString(c)
	}
	ws := "close " + strings.Join(want, " or ")
	f, err := p.readFrame(d)
	if err != nil {
		if errors.Is(err, errTimeout) {
			return f, fmt.Errorf("want %s, got nothing (%w)", ws, err)
		}
		return f, fmt.Errorf("want %s, got %s", ws, describe(f, err))
	}
	if f.Opcode != wire.OpClose {
		return f, fmt.Errorf("want %s, got %v", ws, f)
	}
	if !f.Fin || f.Rsv != 0 {
		return f, fmt.Errorf("malformed close frame: %v", f)
	}
	code, _, perr := wire.ParseClose(f.Payload)
	if perr != nil {
		return f, fmt.Errorf("want %s, got a close frame with a %d-byte payload", ws, len(f.Payload))
	}
	if !slices.Contains(codes, code) {
		return f, fmt.Errorf("want %s, got close %s", ws, codeString(code))
	}
	return f, nil
}

// ExpectFail expects tether to fail the connection: a close frame with
// code, then the TCP close at the right moment (see Finish).
func (p *Peer) ExpectFail(code int) error {
	f, err := p.ExpectClose(code)
	if err != nil {
		return err
	}
	p.answerClose(f)
	return p.Finish()
}

// answerClose echoes a close frame tether sent first, as RFC 6455 §5.5.1
// asks; tether may have closed already, so the write may fail.
func (p *Peer) answerClose(f wire.Frame) {
	_ = p.nc.SetWriteDeadline(time.Now().Add(p.wait()))
	_, _ = p.nc.Write(p.Encode(F(wire.OpClose, f.Payload)))
}

// CloseNormally runs the closing handshake from the raw side with 1000
// and checks the TCP close.
func (p *Peer) CloseNormally() error {
	if err := p.Send(ChopNone, F(wire.OpClose, wire.ClosePayload(1000, ""))); err != nil {
		return err
	}
	if _, err := p.ExpectClose(1000); err != nil {
		return err
	}
	return p.Finish()
}

// Finish checks the end of the TCP connection once close frames have been
// exchanged (RFC 6455 §7.1.1): the server closes the TCP connection first,
// and a client closes its side once the server has (it may close early only
// if the server does not within a reasonable time). Tether as a server must
// close by itself; tether as a client must keep the connection open until
// the raw server closes, then close it.
func (p *Peer) Finish() error {
	p.ended = true
	if p.Side == ServerSide {
		f, err := p.ReadFrame()
		if err == nil {
			return fmt.Errorf("frame after the close handshake: %v", f)
		}
		if errors.Is(err, errTimeout) {
			return fmt.Errorf("server did not close the TCP connection after the closing handshake (%v)", err)
		}
		if !errors.Is(err, io.EOF) {
			return fmt.Errorf("after the closing handshake: %w", err)
		}
		return nil
	}
	f, err := p.readFrame(p.cfg.ClientGrace)
	switch {
	case err == nil:
		return fmt.Errorf("frame after the close handshake: %v", f)
	case errors.Is(err, io.EOF):
		return errors.New("client closed the TCP connection before the server did (RFC 6455 §7.1.1: the server closes first)")
	case !errors.Is(err, errTimeout):
		return fmt.Errorf("after the closing handshake: %w", err)
	}
	if cw, ok := p.nc.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	f, err = p.ReadFrame()
	switch {
	case err == nil:
		return fmt.Errorf("frame after the close handshake: %v", f)
	case errors.Is(err, errTimeout):
		return fmt.Errorf("client did not close the TCP connection after the server did (%v)", err)
	case !errors.Is(err, io.EOF):
		return fmt.Errorf("after the closing handshake: %w", err)
	}
	return nil
}

// MessageThenFail sends the frames of a valid message (op, data) and the
// frames after it back to back, chopped as Send chops them, and expects
// the echo of the message, then the failure with code. The message was
// whole before anything wrong arrived, so its echo is owed: a missing
// echo fails the case.
func (p *Peer) MessageThenFail(code, chop int, op byte, data []byte, msg []wire.Frame, after ...wire.Frame) error {
	if err := p.Send(chop, append(slices.Clone(msg), after...)...); err != nil && !isConnErr(err) {
		return err
	}
	if err := p.ExpectMessage(op, data); err != nil {
		return fmt.Errorf("the message sent before the violation is owed its echo: %w", err)
	}
	return p.ExpectFail(code)
}

// SendExpectFail sends frames (chopped) and expects the failure with code.
func (p *Peer) SendExpectFail(code, chop int, frames ...wire.Frame) error {
	if err := p.Send(chop, frames...); err != nil && !isConnErr(err) {
		return err
	}
	return p.ExpectFail(code)
}

// FailFast sends first, then requires a close frame with code before it
// sends rest: an implementation that waits for the end of the message (or
// of the frame) to judge it does not fail fast.
func (p *Peer) FailFast(code int, first, rest []byte, where string) error {
	if err := p.Write(first, 0); err != nil {
		return err
	}
	d := raceScaled(p.cfg.FailFastWait)
	f, err := p.expectClose(d, code)
	if err != nil {
		if errors.Is(err, errTimeout) {
			return fmt.Errorf("not fail-fast: no close %d within %v after %s (%d more bytes were held back)", code, d, where, len(rest))
		}
		return err
	}
	if len(rest) > 0 {
		_ = p.Write(rest, 0) // ignored by tether, maybe refused
	}
	p.answerClose(f)
	return p.Finish()
}

func isConnErr(err error) bool {
	var ne *net.OpError
	return errors.As(err, &ne)
}
