// Command deflatetune measures permessage-deflate settings on a corpus of
// messages and prints, for each window (9 to 15 bits) and compression
// level, the memory a connection keeps, the compressed size and the time
// per message, absolute and relative to the defaults (12 bits, level 5):
// the table of the compression guide of Python's websockets, measured on
// your messages with tether's compressor.
//
// Usage:
//
//	deflatetune [flags] [CORPUS]
//
// CORPUS is a directory with one message per file (as for the benchmark
// script of Python's websockets); without it, a realistic stream of JSON
// messages (chat, price ticks, presence, notifications, snapshots) is
// generated. -dump DIR writes that stream as such a directory.
//
// What is measured:
//
//   - memory/conn: the heap one endpoint of a connection keeps between
//     messages (history windows and extension state), measured with
//     runtime.ReadMemStats over -memconns connections that exchanged a
//     message each way, after the buffers a connection gives back are
//     released. Compressors and decompressors are pooled and shared by
//     all connections, so they are not part of it.
//   - size: compressed payload bytes over plain bytes, on one pass over
//     the corpus.
//   - time: compressing and inflating one message, in nanoseconds of wall
//     clock (monotonic) and of process CPU time (clock_gettime with
//     CLOCK_PROCESS_CPUTIME_ID, where the platform has it), over as many
//     passes over the corpus as fill -mintime, best of -rounds. "hot"
//     sends every message on one connection, which keeps its compressor
//     loaded with its history; "cold" spreads the messages over -conns
//     connections in turn, as a broadcast server does, so that each
//     message reloads the connection's history into a pooled compressor.
//
// "vs default" compares time by CPU time where it is measured, else by
// wall-clock time.
package main
