// Command deflatetune measures permessage-deflate settings on a corpus of
// messages: for each window (9 to 15 bits) and compression level, the
// memory an idle connection keeps, the compressed/plain ratio and the time
// to compress and inflate a message, absolute and relative to the defaults
// (12 bits, level 5).
//
// Usage:
//
//	deflatetune [-dir DIR] [-n 2000] [-levels 1,3,5,6,9] [-conns 64]
//
// With -dir, each file of DIR is one message; without it, a realistic
// stream of JSON messages (chat, price ticks, presence, notifications,
// snapshots) is generated.
//
// Two times are given. "hot" sends every message on one connection, which
// keeps its compressor loaded with its history between messages. "cold"
// spreads the messages over -conns connections in turn, as a broadcast
// server does, so that each message reloads the connection's history into
// a pooled compressor. On Linux the times are the CPU time of the
// measuring thread, which other processes do not inflate.
package main
