package runtime

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/tetherws/tether/ws"
)

// Debug lines for frames and state changes, as Python's websockets
// writes them: "> " for a frame sent, "< " for one received, "= " for a
// state change. A frame line is its opcode, a preview of its payload and
// its length: "> TEXT 'hello' [5 bytes]", "< PING 1a 2b 3c 4d [binary,
// 4 bytes]", "< CLOSE 1000 (OK) 'bye' [5 bytes]". A received data message
// is logged as the pieces the protocol delivers (a frame, or a part of a
// large uncompressed one); a piece that does not end its message says
// "continued", and the pieces after the first are CONT.
//
// Callers check debugOn first: nothing here runs with Debug off.

// Preview bounds, Python's: text longer than previewMax characters keeps
// its first previewHead and last previewTail; binary shows its first
// binHead and last binTail bytes in hex.
const (
	previewMax  = 75
	previewHead = 48
	previewTail = 24
	binHead     = 16
	binTail     = 8
)

// logFrame logs a data or control frame sent (dir '>') or received (dir
// '<'): op is the frame's opcode (OpContinuation for the pieces of a
// message after the first), fin whether it ends its message.
func (c *Conn) logFrame(dir byte, op ws.Opcode, payload []byte, fin bool) {
	c.Logger().LogAttrs(context.Background(), slog.LevelDebug, frameLine(dir, op, payload, fin))
}

// logCloseLocked logs a close frame sent (dir '>') or received ('<'),
// then the state change if there was one. c.mu is held.
func (c *Conn) logCloseLocked(dir byte, f ws.CloseFrame) {
	c.Logger().LogAttrs(context.Background(), slog.LevelDebug, closeLine(dir, f))
	c.logStateLocked()
}

// frameLine is the line of a data or control frame (see logFrame).
func frameLine(dir byte, op ws.Opcode, payload []byte, fin bool) string {
	var b strings.Builder
	b.WriteByte(dir)
	b.WriteByte(' ')
	b.WriteString(op.String())
	b.WriteByte(' ')
	coding := ""
	switch {
	case op == ws.OpText:
		writeText(&b, payload)
	case op == ws.OpBinary:
		writeBinary(&b, payload)
	case len(payload) == 0:
		b.WriteString("''")
	case utf8.Valid(payload):
		// Continuations, pings and pongs: text when it decodes.
		writeText(&b, payload)
		coding = "text, "
	default:
		writeBinary(&b, payload)
		coding = "binary, "
	}
	b.WriteString(" [")
	b.WriteString(coding)
	writeLength(&b, len(payload))
	if !fin {
		b.WriteString(", continued")
	}
	b.WriteByte(']')
	return b.String()
}

// closeLine is the line of a close frame: its code and reason, and its
// payload's length ("< CLOSE 1000 (OK) 'bye' [5 bytes]").
func closeLine(dir byte, f ws.CloseFrame) string {
	var b strings.Builder
	b.WriteByte(dir)
	b.WriteString(" CLOSE ")
	n := 0
	if f.Code == 0 {
		f.Code = ws.CloseNoStatus
	}
	b.WriteString(f.Code.String())
	if f.Code != ws.CloseNoStatus {
		n = 2 + len(f.Reason)
		if f.Reason != "" {
			b.WriteByte(' ')
			writeText(&b, []byte(f.Reason))
		}
	}
	b.WriteString(" [")
	writeLength(&b, n)
	b.WriteByte(']')
	return b.String()
}

// logStateLocked logs the protocol's state when it changed since the last
// line that did ("= connection is CLOSING"). c.mu is held.
func (c *Conn) logStateLocked() {
	st := c.proto.State()
	if st == c.loggedState {
		return
	}
	c.loggedState = st
	c.Logger().LogAttrs(context.Background(), slog.LevelDebug, "= connection is "+stateName(st))
}

// stateName is the state as Python's websockets logs it.
func stateName(st ws.State) string {
	switch st {
	case ws.StateConnecting:
		return "CONNECTING"
	case ws.StateOpen:
		return "OPEN"
	case ws.StateClosing:
		return "CLOSING"
	case ws.StateClosed:
		return "CLOSED"
	}
	return "state " + strconv.Itoa(int(st))
}

// writeText writes p quoted, Python-style ('...', escaping what is not
// printable), keeping the first previewHead and last previewTail
// characters of a longer text.
func writeText(b *strings.Builder, p []byte) {
	b.WriteByte('\'')
	if utf8.RuneCount(p) <= previewMax {
		writeEscaped(b, p)
	} else {
		writeEscaped(b, runesHead(p, previewHead))
		b.WriteString("...")
		writeEscaped(b, runesTail(p, previewTail))
	}
	b.WriteByte('\'')
}

// runesHead returns the first n characters of p.
func runesHead(p []byte, n int) []byte {
	i := 0
	for ; n > 0 && i < len(p); n-- {
		_, size := utf8.DecodeRune(p[i:])
		i += size
	}
	return p[:i]
}

// runesTail returns the last n characters of p.
func runesTail(p []byte, n int) []byte {
	i := len(p)
	for ; n > 0 && i > 0; n-- {
		_, size := utf8.DecodeLastRune(p[:i])
		i -= size
	}
	return p[i:]
}

// writeEscaped writes p with quotes, backslashes, control characters and
// invalid bytes escaped.
func writeEscaped(b *strings.Builder, p []byte) {
	for len(p) > 0 {
		r, size := utf8.DecodeRune(p)
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteString(`\x`)
			writeHex2(b, p[0])
		case r == '\'' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			b.WriteString(`\x`)
			writeHex2(b, byte(r))
		default:
			b.Write(p[:size])
		}
		p = p[size:]
	}
}

// writeBinary writes p as hex bytes, its first binHead and last binTail
// bytes when it is longer than both.
func writeBinary(b *strings.Builder, p []byte) {
	if len(p) == 0 {
		b.WriteString("''")
		return
	}
	if len(p) > binHead+binTail {
		writeHex(b, p[:binHead])
		b.WriteString(" ... ")
		writeHex(b, p[len(p)-binTail:])
		return
	}
	writeHex(b, p)
}

func writeHex(b *strings.Builder, p []byte) {
	for i, x := range p {
		if i > 0 {
			b.WriteByte(' ')
		}
		writeHex2(b, x)
	}
}

// writeHex2 writes x as two lower-case hex digits.
func writeHex2(b *strings.Builder, x byte) {
	const digits = "0123456789abcdef"
	b.WriteByte(digits[x>>4])
	b.WriteByte(digits[x&0xf])
}

// writeLength writes "1 byte" or "n bytes".
func writeLength(b *strings.Builder, n int) {
	b.WriteString(strconv.Itoa(n))
	if n == 1 {
		b.WriteString(" byte")
	} else {
		b.WriteString(" bytes")
	}
}

// logEvent logs a data piece or a pong received.
func (c *Conn) logEvent(ev ws.Event) {
	switch ev.Kind {
	case ws.EventData:
		op := ev.Opcode
		if !ev.First {
			op = ws.OpContinuation
		}
		c.logFrame('<', op, ev.Payload, ev.Fin)
	case ws.EventPong:
		c.logFrame('<', ws.OpPong, ev.Payload, true)
	}
}

// logPingLocked logs a ping received, and the pong that answers it when
// the protocol queued one. c.mu is held.
func (c *Conn) logPingLocked(payload []byte) {
	c.logFrame('<', ws.OpPing, payload, true)
	if c.proto.HasOutput() {
		c.logFrame('>', ws.OpPong, payload, true)
	}
}
