// Package ws implements the WebSocket protocol (RFC 6455) with no I/O: frames,
// masking, UTF-8 validation, close codes, the opening handshake, extension and
// subprotocol negotiation, limits and the connection state machine.
//
// Nothing in this package starts a goroutine, touches a socket or reads a
// clock. Bytes go in and events come out; requests to send go in and bytes
// come out. The runtime package drives it over a net.Conn; other runtimes
// (an event loop, a test harness, a proxy) can drive it just as well.
//
// The pieces, from the bottom up:
//
//   - Header, ParseHeader and AppendHeader: the frame header in every length
//     encoding; Mask applies the masking key a word at a time.
//   - CloseCode, ParseClosePayload and AppendClosePayload: close frames.
//   - UTF8Validator: an incremental validator that fails at the first bad byte.
//   - ParseRequest, ParseResponse, ReadResponseBody: a strict HTTP/1.1 reader
//     with the security limits of Limits; HeadReader reads a head as its
//     bytes arrive, in time linear in its size however they are chopped,
//     fed by hand or by Fill from the caller's io.Reader.
//   - ClientHandshake and ServerHandshake: the opening handshake over net/http
//     types, including Origin checks, subprotocols and extensions.
//   - Extension and its factories: the hook that permessage-deflate (package
//     compress) and custom extensions plug into.
//   - Protocol: the connection state machine (CONNECTING, OPEN, CLOSING,
//     CLOSED) that turns received bytes into events, and send requests into
//     bytes, and records how the connection ended. It parses in place (Feed
//     and Next); for the rest of a large plain data frame, PayloadRemaining
//     and FeedPayload let the caller read into its own message buffer.
//   - The send-side rules: the Append methods refuse what may not be sent
//     (another opcode, fragments out of order, text that is not UTF-8,
//     across fragments too, an oversized control payload, a bad close
//     code) with a *SendError, the caller's mistake; CheckMessage checks a
//     whole message once for many connections, and SendValidUTF8 skips
//     validating text that was validated already (an echo).
//     AppendDataHeader frames only the header when the payload goes on the
//     wire as it is, and AbandonMessage decides what a message given up
//     half-way costs.
//   - SharedEncoder: extensions whose encoding of a message several
//     connections can share (a broadcast encodes once).
package ws
