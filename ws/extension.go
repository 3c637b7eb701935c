package ws

// Frame is a data frame as extensions see it: its header bits and payload.
type Frame struct {
	Opcode  Opcode // OpText, OpBinary or OpContinuation
	Fin     bool
	Rsv     byte   // RSV1|RSV2|RSV3
	Payload []byte // may be replaced by the extension

	// NoCompress asks compressing extensions to send this message's frames
	// as they are. It is set by the sender for one message and ignored on
	// receive.
	NoCompress bool
}

// Extension is a negotiated extension, applied to every data frame of one
// connection. Control frames never pass through extensions.
//
// An extension that claims reserved bits (RsvBits) is only asked to decode
// the messages whose first frame carries one of those bits; an extension
// that claims none is asked to decode every data frame. After decoding, any
// reserved bit still set fails the connection with 1002.
//
// Encode runs in negotiation order on send; Decode in reverse order on
// receive. Both are called from one goroutine at a time per direction, so
// an extension may keep per-direction state without locks. A payload an
// extension returns may alias its own buffers; it must stay valid until the
// next call in the same direction.
type Extension interface {
	// Name is the extension token, e.g. "permessage-deflate".
	Name() string
	// Params are the negotiated parameters, as sent in the response.
	Params() []Param
	// RsvBits are the reserved bits the extension uses.
	RsvBits() byte
	// Encode rewrites an outgoing data frame (payload and reserved bits).
	Encode(f *Frame) error
	// Decode rewrites an incoming data frame. limit is the number of bytes
	// the decoded payload may have (negative: no limit); past it, Decode
	// fails with a *ProtocolError of code 1009. A corrupt payload fails
	// with code 1002. Decode may return an empty payload for a frame that
	// is not the last of its message (an extension that holds input back
	// until it can be decoded); the held-back output then counts against
	// the limit of the frame that releases it.
	Decode(f *Frame, limit int64) error
}

// ExtensionCloser is implemented by extensions that hold resources (pooled
// buffers, compressors) to give back when the connection ends.
type ExtensionCloser interface {
	Close()
}

// SendBufferReleaser is implemented by extensions whose Encode output lives
// in a buffer they can give back: the Protocol calls ReleaseSendBuffers as
// soon as it has copied an encoded payload into the frame, so that an idle
// connection keeps no encode buffer.
type SendBufferReleaser interface {
	ReleaseSendBuffers()
}

// ReceiveBufferReleaser is the receive-side counterpart: the Protocol calls
// ReleaseReceiveBuffers when Next has drained its input, once the caller is
// done with the last decoded payload.
type ReceiveBufferReleaser interface {
	ReleaseReceiveBuffers()
}

// SharedEncoder is implemented by extensions whose encoding of a whole
// message can be the same on many connections, so that a broadcast
// encodes it once (permessage-deflate without context takeover on the
// sending side: each message is compressed on its own).
//
// EncodingKey reports whether the next whole message's encoding depends
// only on the message and on the key, and if so returns the key: a
// comparable value equal for two extensions exactly when they encode every
// message to the same bytes. ok is false when the encoding depends on the
// connection's history.
type SharedEncoder interface {
	EncodingKey() (key any, ok bool)
}

// ClientExtensionFactory offers an extension in the client's request and
// builds it from the server's answer.
type ClientExtensionFactory interface {
	// Name is the extension token offered.
	Name() string
	// Offer returns the parameters of the offer.
	Offer() []Param
	// Accept checks the parameters the server answered with and returns the
	// extension, or an error (typically a *NegotiationError) to fail the
	// handshake. accepted holds the extensions accepted before this one.
	Accept(params []Param, accepted []Extension) (Extension, error)
}

// ServerExtensionFactory answers one extension offer of a client.
type ServerExtensionFactory interface {
	// Name is the extension token this factory handles.
	Name() string
	// Negotiate considers one offer (params) and returns the response
	// parameters and the extension, or an error to decline this offer (a
	// later offer of the same extension may still be accepted). accepted
	// holds the extensions accepted so far.
	Negotiate(params []Param, accepted []Extension) ([]Param, Extension, error)
}

// Param is one extension parameter. An empty Value means the parameter was
// given without a value.
type Param struct {
	Name  string
	Value string
}

// ExtensionOffer is one element of a Sec-WebSocket-Extensions header.
type ExtensionOffer struct {
	Name   string
	Params []Param
}
