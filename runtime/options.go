package runtime

import (
	"log/slog"
	"time"

	"github.com/tetherws/tether/compress"
	"github.com/tetherws/tether/keepalive"
	"github.com/tetherws/tether/ws"
)

// Defaults of Options, as in Python websockets.
const (
	DefaultMaxQueue     = 16
	DefaultWriteLimit   = 32 << 10
	DefaultOpenTimeout  = 10 * time.Second
	DefaultCloseTimeout = 10 * time.Second
)

// Options configure a connection. The zero value (or nil) gives the
// defaults; for durations and sizes, a negative value turns the limit off
// (for MaxQueue, the buffer: see there).
type Options struct {
	// MaxMessageSize bounds a received message (after decompression).
	// Default 1 MiB; negative: no limit. Past it the connection fails with
	// 1009.
	MaxMessageSize int64
	// MaxFrameSize also bounds each received frame when positive.
	MaxFrameSize int64
	// MaxQueue is the capacity of the Messages channel. Default 16;
	// negative: 0, an unbuffered channel, where the reader hands each
	// message over and waits for the application to take it. (A channel
	// cannot be unbounded: a negative value never means "no limit".)
	MaxQueue int
	// WriteLimit is the number of queued bytes above which Send blocks,
	// until the queue drains below a quarter of it. Default 32 KiB.
	WriteLimit int

	// OpenTimeout bounds the opening handshake. Default 10 s.
	OpenTimeout time.Duration
	// CloseTimeout bounds the closing handshake: this long after a close
	// frame is sent or received, the socket is aborted. Default 10 s.
	CloseTimeout time.Duration
	// PingInterval is the keepalive interval. Default 20 s; negative: no
	// keepalive.
	PingInterval time.Duration
	// PingTimeout is how long a keepalive ping may wait for its pong before
	// the connection fails with 1011. Default 20 s; negative: never fail.
	// A late pong is forgiven when anything arrived from the peer after
	// the ping, or when the reader is waiting for the application to take
	// a message (the pong may be unread behind it): a busy peer is alive.
	PingTimeout time.Duration
	// Heartbeat sends unsolicited pongs instead of pings (one-way
	// heartbeat) every PingInterval.
	Heartbeat bool
	// KeepaliveClock replaces real time in the keepalive loop (tests).
	KeepaliveClock keepalive.Clock

	// Streaming delivers each received message in pieces, one or more per
	// frame, as they arrive, instead of whole: see Message.First/Fin. A
	// message can then be larger than memory (raise MaxMessageSize).
	// Uncompressed frames are split into pieces of at most one read;
	// a compressed frame is decoded whole, so with permessage-deflate a
	// piece is one frame (bounded by MaxFrameSize when set).
	Streaming bool

	// Compression tunes permessage-deflate (RFC 7692), which is
	// negotiated by default: nil means compress.Default (4 KiB windows
	// both ways with context takeover: 8 KiB per connection, stored
	// compressed, about 2 KiB, once it has been idle for a few seconds).
	// See compress.Options and its presets.
	Compression *compress.Options
	// DisableCompression turns permessage-deflate off.
	DisableCompression bool

	// Limits bounds the HTTP messages of the opening handshake.
	Limits ws.Limits

	// Logger receives the connection's logs. nil sends what an operator
	// must see (records at Warn and above: a handler's error or panic
	// with its stack, a keepalive timeout, a failed TLS handshake) to
	// slog.Default() and drops the rest; slog.New(slog.DiscardHandler)
	// silences everything. At Debug, the opening handshake, every frame
	// sent and received and the state changes are logged, each record
	// with the connection's id ("conn") and remote address ("remote").
	Logger *slog.Logger

	// Observer, if set, receives the connections' events for metrics.
	Observer *Observer
}

// resolved is Options with every default applied.
type resolved struct {
	Options
}

func (o *Options) resolve() resolved {
	var r resolved
	if o != nil {
		r.Options = *o
	}
	switch {
	case r.MaxQueue == 0:
		r.MaxQueue = DefaultMaxQueue
	case r.MaxQueue < 0:
		r.MaxQueue = 0
	}
	if r.WriteLimit == 0 {
		r.WriteLimit = DefaultWriteLimit
	}
	r.OpenTimeout = defDur(r.OpenTimeout, DefaultOpenTimeout)
	r.CloseTimeout = defDur(r.CloseTimeout, DefaultCloseTimeout)
	r.PingInterval = defDur(r.PingInterval, keepalive.DefaultInterval)
	r.PingTimeout = defDur(r.PingTimeout, keepalive.DefaultTimeout)
	r.Logger = loggerOr(r.Logger)
	return r
}

// defDur returns def for 0, 0 (meaning none) for a negative value, else d.
func defDur(d, def time.Duration) time.Duration {
	switch {
	case d == 0:
		return def
	case d < 0:
		return 0
	}
	return d
}
