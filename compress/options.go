package compress

import (
	"errors"
	"strconv"
	"time"
)

// Compression levels. Levels 1 to 9 trade speed for ratio as in zlib;
// DefaultLevel is 5, the default of github.com/klauspost/compress/flate.
const (
	// DefaultLevel is used when Options.Level is 0.
	DefaultLevel = 5
	// BestSpeed is the fastest level that finds matches.
	BestSpeed = 1
	// BestCompression is the slowest level with the best ratio.
	BestCompression = 9
	// HuffmanOnly uses no back-references at all, only Huffman coding: it
	// is fast, keeps no history (no window memory on the sending side,
	// whatever the window) and compresses text by about a third.
	HuffmanOnly = -2
)

// DefaultWindowBits is the window the server answers with when not
// configured, in both directions, as in the Python websockets library:
// 2^12 = 4 KiB of history per direction.
const DefaultWindowBits = 12

// Options configures permessage-deflate for a client or a server factory.
// The zero value gives the defaults of the Python websockets library: a
// client offers "permessage-deflate; client_max_window_bits", and a server
// answers server_max_window_bits=12 and (when the client allows it)
// client_max_window_bits=12, with context takeover both ways.
//
// Window bits are 8 to 15 (RFC 7692): a window of 2^bits bytes. They set
// both the compression ratio and the memory an idle connection keeps: with
// context takeover, 2^bits bytes of history per direction.
type Options struct {
	// Level is the compression level: 1 (fastest) to 9 (smallest), or
	// HuffmanOnly; 0 means DefaultLevel. Levels 7 to 9 are slower and
	// clear a 640 KiB table whenever a compressor is loaded with a
	// connection's history: they suit large messages only.
	//
	// Under 15-bit windows the level sets the match search of this
	// package's window encoder, with zlib's limits for that level (level
	// 5: 32 candidates per position, lazy matching up to 16 bytes); at 15
	// bits it is klauspost/compress's level. Messages under 128 bytes
	// sent in one frame by a connection that has not kept an encoder use
	// a small built-in encoder (fixed Huffman codes, matches in the
	// history), whatever the level except HuffmanOnly.
	//
	// Python's compress_settings map here as the package documentation
	// says: its level is this Level, Z_HUFFMAN_ONLY is HuffmanOnly, and
	// memLevel has no counterpart (compressors are pooled).
	Level int

	// Threshold is the size under which a message is sent uncompressed
	// (its frame has no RSV1). 0 compresses every message. It applies to
	// messages sent in one frame; a fragmented message is compressed,
	// since its size is not known when its first frame goes out. A few
	// dozen bytes is a sensible value: deflate cannot shrink shorter data.
	Threshold int

	// ServerNoContextTakeover makes the server compress each message on
	// its own (the client forgets the server's history after each
	// message). A client asks for it in its offer and requires it in the
	// answer; a server answers with it.
	ServerNoContextTakeover bool
	// ClientNoContextTakeover makes the client compress each message on
	// its own. A client announces it in its offer; a server answers with
	// it, which the client must then honour.
	ClientNoContextTakeover bool

	// ServerMaxWindowBits is the window of the server's compressor.
	// Client: 0 asks nothing (the server chooses, 15 if it says nothing);
	// 8..15 asks the server to use at most that. Server: 0 means
	// DefaultWindowBits; 8..15 is the largest window the server uses (a
	// client may ask for less).
	ServerMaxWindowBits int
	// ClientMaxWindowBits is the window of the client's compressor.
	// Client: 0 offers client_max_window_bits without a value (the server
	// may choose a window; 15 if it says nothing); 8..15 offers that value,
	// the largest window the client uses. Server: 0 means
	// DefaultWindowBits; 8..15 is the largest window the server lets the
	// client use, answered when the client's offer allows it.
	ClientMaxWindowBits int

	// RequireClientMaxWindowBits (server only) declines clients that do
	// not offer client_max_window_bits, so that no client compresses with
	// a 32 KiB window the server must keep.
	RequireClientMaxWindowBits bool

	// IdleAfter is how long a connection goes without a message either
	// way before it gives back the compressor it kept (see
	// BusyCompressors) and stores its history windows compressed (text
	// shrinks them 3 to 5 times), restoring them at its next message.
	// 0 means DefaultIdleAfter (5 s); a negative value never does it, and
	// then no compressor is kept either.
	IdleAfter time.Duration

	// BusyCompressors is how many connections of one factory (one server,
	// or one Dial) with 15-bit windows may keep their compressor between
	// messages while they are busy, so that a message does not reload
	// the history into a pooled compressor, which costs as much as compressing the window:
	// about a third less CPU per message on a busy server with many
	// connections, for about 1% more bytes on the wire (klauspost/compress
	// compresses a little worse from a window it continues than from one
	// it loads). Each kept compressor is about 740 KiB, given back after
	// IdleAfter without messages. It matters only with context takeover.
	// 0 keeps none.
	BusyCompressors int

	// BusyEncoders is how many connections of one factory may keep their
	// window encoder between messages while they are busy. With context
	// takeover and a window under 15 bits (the default 12), messages are
	// compressed by this package's own encoder, which loads a history by
	// hashing it, about a quarter of the cost of compressing it; a kept
	// encoder loads nothing. Each is 2^(bits+2) + 16 KiB (32 KiB at 12
	// bits), given back after IdleAfter without messages. 0 means
	// DefaultBusyEncoders; a negative value keeps none.
	BusyEncoders int
}

// DefaultBusyEncoders is the number of window encoders the busy
// connections of one factory may keep when Options.BusyEncoders is 0:
// at most 8 MiB at 12-bit windows.
const DefaultBusyEncoders = 256

func (o *Options) busyEncoders() int {
	switch {
	case o.BusyEncoders == 0:
		return DefaultBusyEncoders
	case o.BusyEncoders < 0:
		return 0
	}
	return o.BusyEncoders
}

// Presets trade memory for ratio and speed. Memory is what an idle
// connection keeps with these options on both sides (history windows,
// after ReleaseBuffers); compressors and decompressors are pooled and
// shared by all connections.
var (
	// Default is the zero Options: level 5, 4 KiB windows both ways with
	// context takeover. 8 KiB of windows per connection, stored
	// compressed (about 2 KiB of JSON-like text) once it is idle (see
	// IdleAfter).
	Default = Options{}
	// Fast compresses every message on its own at level 1: no history is
	// kept, so an idle connection costs nothing and each message avoids
	// reloading a window, at the cost of ratio on small messages.
	// 0 KiB per idle connection.
	Fast = Options{Level: BestSpeed, ServerNoContextTakeover: true, ClientNoContextTakeover: true}
	// SmallMemory keeps 512-byte windows (9 bits) both ways at level 5.
	// 1 KiB per idle connection.
	SmallMemory = Options{ServerMaxWindowBits: 9, ClientMaxWindowBits: 9}
	// BestRatio keeps the full 32 KiB windows (15 bits) at level 6: the
	// best ratio on streams of similar messages, and the slowest when a
	// compressor must be reloaded with 32 KiB of history.
	// 64 KiB per idle connection.
	BestRatio = Options{Level: 6, ServerMaxWindowBits: 15, ClientMaxWindowBits: 15}
)

// ErrOptions is matched (errors.Is) by the errors of invalid Options.
var ErrOptions = errors.New("compress: invalid options")

type optionsError string

func (e optionsError) Error() string        { return "compress: " + string(e) }
func (e optionsError) Is(target error) bool { return target == ErrOptions }

func (o *Options) check() error {
	if o.Level != HuffmanOnly && (o.Level < 0 || o.Level > 9) {
		return optionsError("level " + strconv.Itoa(o.Level) + " is not 1..9, HuffmanOnly or 0")
	}
	if o.Threshold < 0 {
		return optionsError("negative threshold")
	}
	if o.BusyCompressors < 0 {
		return optionsError("negative BusyCompressors")
	}
	for _, b := range []struct {
		name string
		v    int
	}{{"server_max_window_bits", o.ServerMaxWindowBits}, {"client_max_window_bits", o.ClientMaxWindowBits}} {
		if b.v != 0 && (b.v < 8 || b.v > 15) {
			return optionsError(b.name + " must be between 8 and 15, not " + strconv.Itoa(b.v))
		}
	}
	return nil
}

func (o *Options) level() int {
	if o.Level == 0 {
		return DefaultLevel
	}
	return o.Level
}
