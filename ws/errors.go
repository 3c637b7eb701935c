package ws

import (
	"errors"
	"net/http"
)

// Sentinel errors to branch on with errors.Is. The typed errors of this
// package match the sentinel of their family.
var (
	// ErrClosed matches every *CloseError: the connection is closed.
	ErrClosed = errors.New("ws: connection closed")
	// ErrInvalidState is returned when an operation is not allowed in the
	// connection's current state, e.g. sending data after a close frame.
	ErrInvalidState = errors.New("ws: invalid state")
	// ErrConcurrency is returned when two callers use something that allows
	// only one at a time.
	ErrConcurrency = errors.New("ws: concurrent use")

	// ErrInvalidHandshake matches every opening handshake failure.
	ErrInvalidHandshake = errors.New("ws: invalid handshake")
	// ErrInvalidMessage: the peer did not send a valid HTTP request or response.
	ErrInvalidMessage = errors.New("ws: invalid HTTP message")
	// ErrSecurityLimit: an HTTP line, header count or body exceeded a limit.
	ErrSecurityLimit = errors.New("ws: security limit exceeded")
	// ErrInvalidMethod: the request method is not GET.
	ErrInvalidMethod = errors.New("ws: invalid HTTP method")
	// ErrInvalidProtocol: the HTTP version is not HTTP/1.1.
	ErrInvalidProtocol = errors.New("ws: invalid HTTP version")
	// ErrInvalidUpgrade: Connection or Upgrade headers do not ask for a
	// WebSocket upgrade.
	ErrInvalidUpgrade = errors.New("ws: invalid upgrade")
	// ErrInvalidHeader: a handshake header is missing, repeated or malformed.
	ErrInvalidHeader = errors.New("ws: invalid header")
	// ErrInvalidOrigin: the Origin header is not allowed.
	ErrInvalidOrigin = errors.New("ws: invalid origin")
	// ErrInvalidHost: the Host header is missing or not allowed.
	ErrInvalidHost = errors.New("ws: invalid host")
	// ErrInvalidStatus: the server answered with a status other than 101;
	// see *StatusError.
	ErrInvalidStatus = errors.New("ws: invalid status")
	// ErrNegotiation matches every extension or subprotocol negotiation
	// failure; see *NegotiationError.
	ErrNegotiation = errors.New("ws: negotiation failed")
	// ErrInvalidURI: the URI is not a valid ws:// or wss:// URI.
	ErrInvalidURI = errors.New("ws: invalid URI")

	// ErrProtocol matches every *ProtocolError.
	ErrProtocol = errors.New("ws: protocol error")
	// ErrMessageTooBig matches a *ProtocolError with code 1009.
	ErrMessageTooBig = errors.New("ws: message too big")
	// ErrInvalidUTF8 matches a *ProtocolError with code 1007 (the peer
	// sent invalid text) and a *SendError about text to send (the
	// caller's).
	ErrInvalidUTF8 = errors.New("ws: invalid UTF-8")

	// ErrInvalidSend matches every *SendError: a request to send that
	// the protocol refuses.
	ErrInvalidSend = errors.New("ws: invalid send")
)

// ErrInvalidText is the *SendError of every send call given text that is
// not valid UTF-8 (a text message, or the fragments of one so far). It
// matches ErrInvalidSend and ErrInvalidUTF8.
var ErrInvalidText = &SendError{Msg: "text message is not valid UTF-8", Err: ErrInvalidUTF8}

// SendError is a request to send that the protocol refuses because of the
// request itself: a data frame with another opcode than text, binary or
// continuation, fragments out of order, text that is not valid UTF-8, a
// control payload over 125 bytes, a close code or reason that cannot be
// sent. It is the caller's mistake, not the peer's: nothing is appended,
// the protocol's state is unchanged and the connection goes on. It
// matches ErrInvalidSend; Err, when set, is a more specific sentinel
// (ErrInvalidUTF8).
type SendError struct {
	Msg string
	Err error
}

func (e *SendError) Error() string { return "ws: " + e.Msg }

// Unwrap returns Err.
func (e *SendError) Unwrap() error { return e.Err }

// Is matches ErrInvalidSend.
func (e *SendError) Is(target error) bool { return target == ErrInvalidSend }

// sendError returns a *SendError with this message.
func sendError(msg string) error { return &SendError{Msg: msg} }

// ProtocolError is a violation of the protocol by the peer (the frames it
// sent), or a failure of the connection recorded by Fail. Code is the
// close code the connection fails with. A caller's invalid request to
// send is a *SendError instead.
type ProtocolError struct {
	Code CloseCode
	Msg  string
}

func (e *ProtocolError) Error() string { return "ws: " + e.Msg }

// Is matches ErrProtocol, and ErrMessageTooBig or ErrInvalidUTF8 by code.
func (e *ProtocolError) Is(target error) bool {
	switch target {
	case ErrProtocol:
		return true
	case ErrMessageTooBig:
		return e.Code == CloseMessageTooBig
	case ErrInvalidUTF8:
		return e.Code == CloseInvalidPayload
	}
	return false
}

// CloseError reports how a connection ended: the close frames received and
// sent (nil when there was none), their order, and the cause (the network
// error, a timeout or the protocol error that failed the connection).
// It matches ErrClosed.
type CloseError struct {
	Rcvd, Sent   *CloseFrame
	RcvdThenSent bool // meaningful only when both frames exist
	Cause        error
}

// OK reports whether the connection closed cleanly: a close frame was both
// received and sent, and both codes are 1000, 1001 or 1005.
func (e *CloseError) OK() bool {
	if e.Rcvd == nil || e.Sent == nil {
		return false
	}
	return okCode(e.Rcvd.Code) && okCode(e.Sent.Code)
}

func okCode(c CloseCode) bool {
	return c == CloseNormal || c == CloseGoingAway || c == CloseNoStatus
}

// Code returns the close code received from the peer, 1005 for an empty
// close frame and 1006 when no close frame was received.
func (e *CloseError) Code() CloseCode {
	if e.Rcvd == nil {
		return CloseAbnormal
	}
	return e.Rcvd.Code
}

// Reason returns the close reason received from the peer, or "".
func (e *CloseError) Reason() string {
	if e.Rcvd == nil {
		return ""
	}
	return e.Rcvd.Reason
}

func (e *CloseError) Error() string {
	var s string
	switch {
	case e.Rcvd != nil && e.Sent != nil && e.RcvdThenSent:
		s = "received " + e.Rcvd.String() + "; then sent " + e.Sent.String()
	case e.Rcvd != nil && e.Sent != nil:
		s = "sent " + e.Sent.String() + "; then received " + e.Rcvd.String()
	case e.Sent != nil:
		s = "sent " + e.Sent.String() + "; no close frame received"
	case e.Rcvd != nil:
		s = "received " + e.Rcvd.String() + "; no close frame sent"
	default:
		s = "no close frame received or sent"
	}
	return s
}

// Unwrap returns the cause.
func (e *CloseError) Unwrap() error { return e.Cause }

// Is matches ErrClosed.
func (e *CloseError) Is(target error) bool { return target == ErrClosed }

// HandshakeError is a failed opening handshake. On the server it carries the
// HTTP status and extra headers of the rejection; on the client Status is 0
// unless the failure is about the response status. Err is the sentinel (or
// a more specific error) to branch on.
type HandshakeError struct {
	Status int         // HTTP status to answer with (server side)
	Header http.Header // extra response headers, e.g. Allow or Upgrade
	Msg    string
	Err    error
}

func (e *HandshakeError) Error() string {
	if e.Err != nil && e.Msg == "" {
		return e.Err.Error()
	}
	return "ws: " + e.Msg
}

// Unwrap returns the underlying error.
func (e *HandshakeError) Unwrap() error { return e.Err }

// Is matches ErrInvalidHandshake.
func (e *HandshakeError) Is(target error) bool { return target == ErrInvalidHandshake }

// StatusError is the client's error when the server answers the opening
// handshake with a status other than 101. Body holds at most the response
// body limit: a longer body is cut there, and Truncated says so. It
// matches ErrInvalidStatus and ErrInvalidHandshake.
type StatusError struct {
	Response  *http.Response
	Body      []byte
	Truncated bool
}

func (e *StatusError) Error() string {
	return "ws: server rejected WebSocket connection: HTTP " + itoa(int64(e.Response.StatusCode))
}

// StatusCode returns the response's status code.
func (e *StatusError) StatusCode() int { return e.Response.StatusCode }

// Is matches ErrInvalidStatus and ErrInvalidHandshake.
func (e *StatusError) Is(target error) bool {
	return target == ErrInvalidStatus || target == ErrInvalidHandshake
}

// NegotiationError is a failed extension or subprotocol negotiation. It
// matches ErrNegotiation and ErrInvalidHandshake.
type NegotiationError struct {
	Msg string
}

func (e *NegotiationError) Error() string { return "ws: " + e.Msg }

// Is matches ErrNegotiation and ErrInvalidHandshake.
func (e *NegotiationError) Is(target error) bool {
	return target == ErrNegotiation || target == ErrInvalidHandshake
}
