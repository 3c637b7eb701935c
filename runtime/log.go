package runtime

import (
	"context"
	"errors"
	"io"
	"log/slog"
)

// Logging.
//
// A connection logs through Options.Logger. Left nil, it gets
// defaultLogger, which passes what an operator must see (records at Warn
// and above: a handler's error or panic, a keepalive timeout, a failed
// TLS handshake) to slog.Default() and drops the rest; an explicit
// slog.New(slog.DiscardHandler) silences everything. At Debug a
// connection logs its opening handshake, every frame it sends and
// receives and its state changes, in the words of Python's websockets
// ("> TEXT 'hello' [5 bytes]"). Each such event asks the logger once
// whether Debug is enabled before it builds anything, so that with Debug
// off the only cost is that question.

// defaultLogger is the logger of a connection whose Options.Logger is nil.
var defaultLogger = slog.New(defaultWarnHandler{})

// discardLogger logs nothing.
var discardLogger = slog.New(slog.DiscardHandler)

// defaultWarnHandler passes records at Warn and above to the handler of
// slog.Default(), looked up at each record (so that slog.SetDefault
// applies at once), and drops the rest. ops are the With and WithGroup
// calls made on it, replayed on the default handler for each record: they
// are rare (one With per connection that logs) and so are the records.
type defaultWarnHandler struct {
	ops []handlerOp
}

// handlerOp is one With (attrs) or WithGroup (group) call.
type handlerOp struct {
	attrs []slog.Attr
	group string
}

func (h defaultWarnHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && slog.Default().Handler().Enabled(ctx, l)
}

func (h defaultWarnHandler) Handle(ctx context.Context, r slog.Record) error {
	dh := slog.Default().Handler()
	for _, op := range h.ops {
		if op.group != "" {
			dh = dh.WithGroup(op.group)
		} else {
			dh = dh.WithAttrs(op.attrs)
		}
	}
	return dh.Handle(ctx, r)
}

func (h defaultWarnHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	return defaultWarnHandler{ops: append(h.ops[:len(h.ops):len(h.ops)], handlerOp{attrs: attrs})}
}

func (h defaultWarnHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return defaultWarnHandler{ops: append(h.ops[:len(h.ops):len(h.ops)], handlerOp{group: name})}
}

// loggerOr returns l, or defaultLogger when l is nil.
func loggerOr(l *slog.Logger) *slog.Logger {
	if l == nil {
		return defaultLogger
	}
	return l
}

// debugOn reports whether the connection logs at Debug. Every Debug event
// asks it first, before building its record. The default logger never
// does, and is answered without a call: debugOn runs on every frame, on
// the sender's goroutine, where the handler's Enabled would take a handler
// goroutine past its first 2 KiB of stack.
func (c *Conn) debugOn() bool {
	if c.log == defaultLogger {
		return false
	}
	return c.log.Enabled(context.Background(), slog.LevelDebug)
}

// logAt logs msg at level with the connection's id and remote address,
// when the logger takes that level (the connection's logger is built
// with those attributes only then: see Logger).
func (c *Conn) logAt(level slog.Level, msg string, args ...any) {
	if !c.log.Enabled(context.Background(), level) {
		return
	}
	c.Logger().Log(context.Background(), level, msg, args...)
}

// logHandshakeFailure logs a server handshake that ended without opening
// a connection, other than a rejection (logged when it is answered): a
// failed TLS handshake is worth a warning, as net/http logs it, unless
// the client merely hung up (load balancers' health checks do); anything
// else (a timeout, a client that went away) is logged at Debug.
func logHandshakeFailure(log *slog.Logger, remote string, err error) {
	level := slog.LevelDebug
	msg := "opening handshake failed"
	if errors.Is(err, errTLSHandshake) {
		msg = "TLS handshake failed"
		if !errors.Is(err, io.EOF) {
			level = slog.LevelWarn
		}
	}
	if !log.Enabled(context.Background(), level) {
		return
	}
	log.Log(context.Background(), level, msg, "err", err, "remote", remote)
}
