package runtime

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"unicode/utf8"

	"github.com/tetherws/tether/ws"
)

// The reader goroutine's side of NextReader: how a message reaches a
// MessageReader without being assembled, and how that coexists with
// Messages.
//
// The rule: a message goes to exactly one place, decided by the reader
// goroutine, and in the peer's order. A NextReader call that finds
// Messages empty registers itself in Conn.want; the reader claims it
// (compare-and-swap to nil) at the next data event or whole message it
// handles, and only while the call is registered does it hand anything
// over instead of sending it on Messages. Registration and delivery meet
// in a Dekker handshake on two atomics: the reader sets Conn.delivering
// before it looks at want and sends on Messages; NextReader sets want
// before it looks at delivering and the length of Messages, and takes its
// registration back when either says a message is on its way there. So
// while a call is registered, Messages is empty and stays so; and the
// reader claims a call only while Messages is empty (a message that the
// call is about to take from Messages comes first): the claimed message
// is the next one. After a claim, the reader sends nothing more on
// Messages until NextReader has returned the claimed reader (nextReq.picked),
// so the caller never sees a later message first.
//
// A claimed message flows through a msgStream: the reader copies each
// piece of payload into one of a few recycled buffers (at most
// streamDepth+2 per message, of pieceSize bytes) and sends it on a
// bounded channel, waiting while the channel is full (backpressure, as a
// full Messages). A message partly assembled when the claim happens hands
// over what it holds as its first piece. Text pieces end on whole UTF-8
// sequences: the bytes of a sequence cut by a frame or buffer boundary
// (at most three, already validated by ws) wait in carry for the next
// piece.

// Sizes of a message stream.
const (
	pieceSize   = 32 << 10 // bytes per piece buffer
	streamDepth = 4        // pieces queued between the reader and the application
)

// errMessageCut is the end of a streamed message that the connection did
// not finish (a close frame or a violation in its middle, or the end of
// the transport).
var errMessageCut = fmt.Errorf("tether: the connection ended in the middle of the message: %w", io.ErrUnexpectedEOF)

// errReaderClosed is Read's error after Close, or after NextReader moved
// on to the next message before this one was read to its end.
var errReaderClosed = errors.New("tether: read from a closed message reader")

// nextReq is a NextReader call registered in Conn.want.
type nextReq struct {
	ready  chan *MessageReader // capacity 1: filled by the reader when it claims the call
	picked chan struct{}       // closed by NextReader once it returns the claimed reader
}

// msgStream carries one message from the reader goroutine to a
// MessageReader.
type msgStream struct {
	pieces chan []byte   // closed after the last piece, err set before
	free   chan []byte   // buffers the application is done with
	closed chan struct{} // closed by the application: drop the rest
	err    error         // io.EOF, or why the message was cut

	closeOnce sync.Once

	// Owned by the reader goroutine.
	text    bool
	discard bool // the application closed it, or it was cut: drop pieces
	ended   bool // err is set and pieces closed
	nCarry  int
	carry   [utf8.UTFMax]byte
}

func newStream(text bool) *msgStream {
	return &msgStream{
		pieces: make(chan []byte, streamDepth),
		free:   make(chan []byte, streamDepth+2),
		closed: make(chan struct{}),
		text:   text,
	}
}

// end ends the stream with err (io.EOF when the message is complete).
func (s *msgStream) end(err error) {
	if s.ended {
		return
	}
	s.ended = true
	s.err = err
	close(s.pieces)
}

// buffer returns an empty piece buffer, recycled when one is free.
func (s *msgStream) buffer() []byte {
	select {
	case b := <-s.free:
		return b[:0]
	default:
		return make([]byte, 0, pieceSize)
	}
}

// claimedType is the type of the message a data event belongs to.
func (r *reader) claimedType(ev ws.Event) ws.Opcode {
	if ev.First {
		return ev.Opcode
	}
	return r.typ
}

// stream handles a data event of a message handed to a MessageReader, or
// claims a waiting NextReader call for it; it reports whether it did (if
// not, the message is assembled for Messages as usual).
func (r *reader) stream(ev ws.Event) bool {
	if r.s == nil && !r.claim(ev) {
		return false
	}
	s := r.s
	r.in = !ev.Fin
	r.push(s, ev.Payload, ev.Fin)
	if ev.Fin {
		if s.discard {
			s.end(errReaderClosed) // for a reader that did not read it all
		} else {
			s.end(io.EOF)
		}
		r.s = nil
	}
	return true
}

// claim hands the message of ev to the NextReader call waiting in
// Conn.want, if there is one, and makes it the stream of the reader.
func (r *reader) claim(ev ws.Event) bool {
	c := r.c
	q := c.want.Load()
	if q == nil || c.opts.Streaming || c.undelivered > 0 || len(c.msgs) > 0 || !c.want.CompareAndSwap(q, nil) {
		return false // (with Messages not empty, the call takes from it)
	}
	typ := r.claimedType(ev)
	s := newStream(typ == ws.OpText)
	r.s = s
	r.lastClaim = q
	q.ready <- &MessageReader{c: c, typ: typ, s: s, text: s.text}
	if r.msg != nil {
		// The message was being assembled for Messages: what came so far
		// is the first piece (validated, but perhaps ending inside a UTF-8
		// sequence).
		b := r.msg
		r.msg = nil
		r.push(s, b.b, false)
		b.release()
	}
	if r.partBlk != nil {
		b := r.partBlk
		r.push(s, r.part, false)
		r.part, r.partBlk = nil, nil
		b.release()
	}
	return true
}

// push sends p to s in pieces of at most pieceSize bytes; fin says p ends
// the message (text then ends on a whole sequence: ws validated it).
func (r *reader) push(s *msgStream, p []byte, fin bool) {
	for len(p) > 0 && !s.discard {
		select {
		case <-s.closed:
			s.discard = true
			return
		default:
		}
		buf := append(s.buffer(), s.carry[:s.nCarry]...)
		n := min(len(p), pieceSize-len(buf))
		buf = append(buf, p[:n]...)
		p = p[n:]
		s.nCarry = 0
		if s.text && !(fin && len(p) == 0) {
			cut := wholeUTF8(buf)
			s.nCarry = copy(s.carry[:], buf[cut:])
			buf = buf[:cut]
		}
		if len(buf) > 0 {
			r.sendPiece(s, buf)
		}
	}
}

// sendPiece sends one piece, waiting while the application has not taken
// the ones before (backpressure), unless it closed the reader or the
// connection is being torn down (the stream is then cut: this message
// and every later one are undelivered, as in deliver).
func (r *reader) sendPiece(s *msgStream, b []byte) {
	select {
	case s.pieces <- b:
		return
	default:
	}
	c := r.c
	c.held.Store(true) // for keepalive: the peer is not to blame
	defer c.held.Store(false)
	select {
	case s.pieces <- b:
	case <-s.closed:
		s.discard = true
	case <-c.appClosed:
		s.discard = true
		c.undelivered++
		s.end(errMessageCut)
	}
}

// cutStream ends the message being streamed, if any, when the input
// stops in its middle.
func (r *reader) cutStream() {
	if r.s != nil {
		r.s.end(errMessageCut)
		r.s = nil
	}
}

// handOff gives m, a whole message, to a NextReader call that is waiting
// for it; else it marks a delivery to Messages under way (see the rule
// above) and returns false. deliver clears the mark.
func (r *reader) handOff(m Message) bool {
	c := r.c
	if q := r.lastClaim; q != nil {
		// Nothing goes on Messages before the claimed message is in the
		// caller's hands.
		r.lastClaim = nil
		select {
		case <-q.picked:
		case <-c.appClosed:
		}
	}
	if c.opts.Streaming {
		return false
	}
	c.delivering.Store(true)
	q := c.want.Load()
	if q == nil || len(c.msgs) > 0 || !c.want.CompareAndSwap(q, nil) {
		return false
	}
	c.delivering.Store(false)
	r.lastClaim = q
	q.ready <- wholeReader(c, m)
	return true
}

// wholeUTF8 returns the length of the longest prefix of b, valid UTF-8 so
// far, that ends on a whole sequence: b without the start of a sequence
// that continues past its end.
func wholeUTF8(b []byte) int {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if utf8.FullRune(b[i:]) {
				return len(b)
			}
			return i
		}
	}
	return len(b)
}
