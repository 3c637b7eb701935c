// Package compress implements permessage-deflate (RFC 7692), the WebSocket
// compression extension, as a ws extension built on
// github.com/klauspost/compress/flate.
//
// NewClientFactory and NewServerFactory return the factories to put in
// ws.ClientHandshake.Extensions and ws.ServerHandshake.Extensions. They
// negotiate the four parameters of RFC 7692 (server_no_context_takeover,
// client_no_context_takeover, server_max_window_bits,
// client_max_window_bits) with the rules and defaults of the Python
// websockets library: the client offers
// "permessage-deflate; client_max_window_bits" and the server answers with
// 12-bit windows both ways and context takeover.
//
// # Memory
//
// With context takeover, each direction keeps a history of 2^bits bytes
// between messages: 8 KiB per connection at the defaults. Compressors and
// decompressors (hundreds of KiB each) are borrowed from process-wide
// pools for one message at a time and loaded with the history
// (flate.Writer.ResetDict, flate.Resetter), so an idle connection never
// pins one. A connection that sends message after message usually gets
// its own compressor back, still loaded, and skips the reload. The buffers
// holding the last payloads are kept for the next message unless the
// runtime calls Deflate.ReleaseBuffers.
//
// A connection that sends and receives nothing for Options.IdleAfter (5 s
// by default) stores its history windows compressed, typically a quarter
// of their size for text, and restores them at its next message: an idle
// connection at the defaults costs about 2 KiB instead of 8 KiB.
// Options.BusyCompressors lets busy connections keep their compressor
// between messages instead (CPU for memory and a little ratio).
//
// Reloading the history costs time, in proportion to the window, on each
// message of a connection whose compressor was taken by another (a
// broadcast server sending to many connections in turn). The presets
// (Default, Fast, SmallMemory, BestRatio) trade memory, ratio and speed;
// cmd/examples/deflatetune measures every window and level on your own
// messages.
//
// # Windows
//
// The compressor honours the negotiated window exactly, including 8 bits
// (256 bytes), which zlib cannot produce: a peer inflating with a 2^bits
// window never sees a longer back-reference. When receiving from a peer
// that announced 8 bits, a 512-byte history is kept, since zlib-based
// peers silently compress with 9 bits when asked for 8.
//
// # Limits
//
// Decode stops inflating as soon as the output passes the limit ws gives
// it (the rest of the message size budget) and fails with close code 1009;
// corrupt data fails with 1002. Decompression bombs therefore cost no
// more memory than the message size limit.
package compress
