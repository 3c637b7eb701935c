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
// between messages: 8 KiB per connection at the defaults.
//
// Windows under 15 bits (the default 12) are compressed by this package's
// own encoder: LZ77 with hash chains and lazy matching at the zlib
// level's search limits, then dynamic Huffman codes. Loading a
// connection's history into it only hashes the history (about a quarter
// of the cost of compressing it, which is what klauspost/compress's
// dictionary load does), and a busy connection keeps its encoder between
// messages and loads nothing: 2^(bits+2) bytes plus a 16 KiB hash table,
// 32 KiB at the defaults, for at most Options.BusyEncoders (256)
// connections of one factory (tether's runtime shares one factory per
// Options value in a process), given back after Options.IdleAfter
// without messages. Other connections borrow a pooled encoder per
// message. At the defaults this compresses a JSON stream a little better
// than klauspost/compress at level 5 with the same window, for about a
// quarter of its CPU.
//
// 15-bit windows, and HuffmanOnly, use klauspost/compress's compressors
// (hundreds of KiB each), borrowed from process-wide pools for one
// message at a time and loaded with the history (flate.Writer.ResetDict).
// A connection that sends message after message usually gets its own
// compressor back, still loaded, and skips the reload;
// Options.BusyCompressors lets busy connections keep theirs instead.
// Decompressors are pooled and loaded with the history for each message
// (flate.Resetter), so an idle connection never pins one. The buffers
// holding the last payloads are kept for the next message unless the
// runtime calls Deflate.ReleaseBuffers.
//
// A connection that sends and receives nothing for Options.IdleAfter (5 s
// by default) stores its history windows compressed, typically a quarter
// of their size for text, and restores them at its next message: an idle
// connection at the defaults costs about 2 KiB instead of 8 KiB.
//
// The presets (Default, Fast, SmallMemory, BestRatio) trade memory,
// ratio and speed; cmd/examples/deflatetune measures every window and
// level on your own messages.
//
// # Windows
//
// The encoder honours the negotiated window exactly, including 8 bits
// (256 bytes), which zlib cannot produce: a peer inflating with a 2^bits
// window never sees a longer back-reference. When receiving from a peer
// that announced 8 bits, a 512-byte history is kept, since zlib-based
// peers silently compress with 9 bits when asked for 8.
//
// # Python's compress_settings
//
// Python's websockets passes compress_settings to zlib.compressobj and
// takes the window from the negotiated max_window_bits. Their
// counterparts here:
//
//   - level 1 to 9: Options.Level, on the same scale (klauspost/compress's
//     levels, whose default is 5 where zlib's is 6); -1 is Level 0, the
//     default. Level 0 (stored blocks) has no counterpart: send such
//     messages uncompressed with Options.Threshold or
//     SendOptions.NoCompress of the runtime.
//   - strategy Z_HUFFMAN_ONLY: Level HuffmanOnly. Z_DEFAULT_STRATEGY is
//     every other level. Z_FIXED (fixed Huffman codes) is what messages
//     under 128 bytes sent in one frame get anyway, from the small
//     encoder; it is not selectable otherwise. Z_FILTERED and Z_RLE have
//     no counterpart in klauspost/compress: a lower level, or
//     HuffmanOnly, is the nearest trade of ratio for speed.
//   - memLevel: no counterpart, and no need of one. It sizes zlib's hash
//     table and pending buffer, about 2^(memLevel+9) bytes held by every
//     connection's compressor, which is why Python lowers it to save
//     memory. Here compressors are pooled and shared by all connections
//     (their tables are sized by level), so what a connection keeps is its
//     history windows alone: lower ServerMaxWindowBits and
//     ClientMaxWindowBits, or drop context takeover (Fast), to save
//     memory.
//   - wbits: ServerMaxWindowBits and ClientMaxWindowBits, 8 to 15.
//
// cmd/examples/deflatetune prints the table of Python's compression guide
// (window bits × level: memory per connection, size and time, each
// against the defaults) measured on a corpus of your messages.
//
// # Limits
//
// Decode stops inflating as soon as the output passes the limit ws gives
// it (the rest of the message size budget) and fails with close code 1009;
// corrupt data fails with 1002. Decompression bombs therefore cost no
// more memory than the message size limit.
package compress
