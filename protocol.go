package tether

import "github.com/tetherws/tether/ws"

// Opcode is a frame's or a message's type.
type Opcode = ws.Opcode

// Message types.
const (
	OpText   = ws.OpText
	OpBinary = ws.OpBinary
)

// CloseCode is the status code of a close frame (RFC 6455 §7.4).
type CloseCode = ws.CloseCode

// Close codes.
const (
	CloseNormal              = ws.CloseNormal
	CloseGoingAway           = ws.CloseGoingAway
	CloseProtocolError       = ws.CloseProtocolError
	CloseUnsupportedData     = ws.CloseUnsupportedData
	CloseNoStatus            = ws.CloseNoStatus
	CloseAbnormal            = ws.CloseAbnormal
	CloseInvalidPayload      = ws.CloseInvalidPayload
	ClosePolicyViolation     = ws.ClosePolicyViolation
	CloseMessageTooBig       = ws.CloseMessageTooBig
	CloseMandatoryExtension  = ws.CloseMandatoryExtension
	CloseInternalError       = ws.CloseInternalError
	CloseServiceRestart      = ws.CloseServiceRestart
	CloseTryAgainLater       = ws.CloseTryAgainLater
	CloseBadGateway          = ws.CloseBadGateway
	CloseTLSHandshakeFailure = ws.CloseTLSHandshakeFailure
)

// CloseError says how a connection ended: the close frames sent and
// received, and the cause. Conn.Err returns one (nil after a clean close).
type CloseError = ws.CloseError

// CloseFrame is the code and reason of a close frame.
type CloseFrame = ws.CloseFrame

// StatusError is a handshake the server answered with a status other than
// 101; it carries the status, the headers and the start of the body.
type StatusError = ws.StatusError

// HandshakeError is an opening handshake that failed a check.
type HandshakeError = ws.HandshakeError

// ProtocolError is a violation of RFC 6455, with the close code the
// connection fails with.
type ProtocolError = ws.ProtocolError

// SendError is a send the protocol refuses because of the request itself
// (text that is not UTF-8, a control payload over 125 bytes, a close code
// that cannot be sent): nothing is sent and the connection goes on.
type SendError = ws.SendError

// NegotiationError is a failed subprotocol or extension negotiation.
type NegotiationError = ws.NegotiationError

// Limits bounds the HTTP messages of the opening handshake
// (Options.Limits). Zero fields take the defaults.
type Limits = ws.Limits

// Sentinel errors to branch on with errors.Is.
var (
	// ErrClosed matches every error of a closed connection.
	ErrClosed = ws.ErrClosed
	// ErrInvalidHandshake matches every failed opening handshake.
	ErrInvalidHandshake = ws.ErrInvalidHandshake
	// ErrInvalidStatus matches a *StatusError.
	ErrInvalidStatus = ws.ErrInvalidStatus
	// ErrProtocol matches every *ProtocolError.
	ErrProtocol = ws.ErrProtocol
	// ErrMessageTooBig matches a message over Options.MaxMessageSize.
	ErrMessageTooBig = ws.ErrMessageTooBig
	// ErrInvalidSend matches every *SendError.
	ErrInvalidSend = ws.ErrInvalidSend
	// ErrNegotiation matches every *NegotiationError.
	ErrNegotiation = ws.ErrNegotiation
	// ErrConcurrency matches a call that only one caller at a time may
	// make.
	ErrConcurrency = ws.ErrConcurrency
)

// ServerHandshake is the server's side of the opening handshake:
// ServerOptions.Handshake sets its origins, subprotocols and checks.
type ServerHandshake = ws.ServerHandshake

// ClientHandshake is the client's side of the opening handshake:
// DialOptions.Handshake sets its origin, subprotocols and headers.
type ClientHandshake = ws.ClientHandshake
