package ws

import (
	"encoding/binary"
	"unicode/utf8"
)

// CloseCode is a close status code (RFC 6455 §7.4).
type CloseCode uint16

// The close codes registered with IANA.
const (
	CloseNormal              CloseCode = 1000
	CloseGoingAway           CloseCode = 1001
	CloseProtocolError       CloseCode = 1002
	CloseUnsupportedData     CloseCode = 1003
	CloseNoStatus            CloseCode = 1005 // never on the wire
	CloseAbnormal            CloseCode = 1006 // never on the wire
	CloseInvalidPayload      CloseCode = 1007
	ClosePolicyViolation     CloseCode = 1008
	CloseMessageTooBig       CloseCode = 1009
	CloseMandatoryExtension  CloseCode = 1010
	CloseInternalError       CloseCode = 1011
	CloseServiceRestart      CloseCode = 1012
	CloseTryAgainLater       CloseCode = 1013
	CloseBadGateway          CloseCode = 1014
	CloseTLSHandshakeFailure CloseCode = 1015 // never on the wire
)

// ValidOnWire reports whether c may appear in a close frame: 1000–1003,
// 1007–1014 and 3000–4999.
func (c CloseCode) ValidOnWire() bool {
	switch {
	case c >= 1000 && c <= 1003, c >= 1007 && c <= 1014:
		return true
	case c >= 3000 && c <= 4999:
		return true
	}
	return false
}

// Name returns the IANA name of the code in the words Python websockets uses,
// e.g. "OK" or "going away"; "registered", "private use" or "unknown" for
// codes without a name.
func (c CloseCode) Name() string {
	switch c {
	case 1000:
		return "OK"
	case 1001:
		return "going away"
	case 1002:
		return "protocol error"
	case 1003:
		return "unsupported data"
	case 1005:
		return "no status received [internal]"
	case 1006:
		return "abnormal closure [internal]"
	case 1007:
		return "invalid frame payload data"
	case 1008:
		return "policy violation"
	case 1009:
		return "message too big"
	case 1010:
		return "mandatory extension"
	case 1011:
		return "internal error"
	case 1012:
		return "service restart"
	case 1013:
		return "try again later"
	case 1014:
		return "bad gateway"
	case 1015:
		return "TLS handshake failure [internal]"
	}
	switch {
	case c >= 3000 && c < 4000:
		return "registered"
	case c >= 4000 && c < 5000:
		return "private use"
	}
	return "unknown"
}

// String formats the code as "1000 (OK)".
func (c CloseCode) String() string { return itoa(int64(c)) + " (" + c.Name() + ")" }

// MaxCloseReason is the longest close reason in bytes: a control frame holds
// 125 bytes and the code takes two.
const MaxCloseReason = MaxControlPayload - 2

// CloseFrame is the content of a close frame.
type CloseFrame struct {
	Code   CloseCode
	Reason string
}

// String formats the frame as "1000 (OK)" or "1001 (going away) bye".
func (f CloseFrame) String() string {
	if f.Reason == "" {
		return f.Code.String()
	}
	return f.Code.String() + " " + f.Reason
}

// Check reports whether the frame may be sent: a code valid on the wire (or
// 1005, which sends an empty payload and must have no reason), a reason of at
// most 123 bytes of valid UTF-8. The error is a *SendError (matching
// ErrInvalidUTF8 too for a reason that is not UTF-8).
func (f CloseFrame) Check() error {
	if f.Code == CloseNoStatus {
		if f.Reason != "" {
			return sendError("close reason without a close code")
		}
		return nil
	}
	if !f.Code.ValidOnWire() {
		return sendError("invalid status code " + itoa(int64(f.Code)))
	}
	if len(f.Reason) > MaxCloseReason {
		return sendError("close reason too long")
	}
	if !utf8.ValidString(f.Reason) {
		return &SendError{Msg: "close reason is not valid UTF-8", Err: ErrInvalidUTF8}
	}
	return nil
}

// ParseClosePayload decodes a close frame payload. An empty payload is 1005
// with no reason. One byte, an invalid code or an invalid UTF-8 reason are
// errors carrying the close code to fail with (1002 or 1007).
func ParseClosePayload(p []byte) (CloseFrame, error) {
	switch len(p) {
	case 0:
		return CloseFrame{Code: CloseNoStatus}, nil
	case 1:
		return CloseFrame{}, &ProtocolError{Code: CloseProtocolError, Msg: "close frame too short"}
	}
	f := CloseFrame{Code: CloseCode(binary.BigEndian.Uint16(p))}
	if !f.Code.ValidOnWire() {
		return CloseFrame{}, &ProtocolError{Code: CloseProtocolError, Msg: "invalid status code " + itoa(int64(f.Code))}
	}
	reason := p[2:]
	if v := new(UTF8Validator); !v.Write(reason) || !v.Complete() {
		return CloseFrame{}, &ProtocolError{Code: CloseInvalidPayload, Msg: "invalid UTF-8 in close reason at position " + itoa(v.Pos())}
	}
	f.Reason = string(reason)
	return f, nil
}

// AppendClosePayload appends the payload of a close frame to dst after
// checking it with Check. Code 1005 gives an empty payload.
func AppendClosePayload(dst []byte, f CloseFrame) ([]byte, error) {
	if err := f.Check(); err != nil {
		return dst, err
	}
	if f.Code == CloseNoStatus {
		return dst, nil
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(f.Code))
	return append(dst, f.Reason...), nil
}
