package ws

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestCloseCodeValidOnWire(t *testing.T) {
	valid := func(c int) bool {
		return c >= 1000 && c <= 1003 || c >= 1007 && c <= 1014 || c >= 3000 && c <= 4999
	}
	for c := 0; c <= 0xffff; c++ {
		if got := CloseCode(c).ValidOnWire(); got != valid(c) {
			t.Errorf("CloseCode(%d).ValidOnWire() = %v", c, got)
		}
	}
	// The codes that must never be on the wire, named.
	for _, c := range []CloseCode{999, 1004, CloseNoStatus, CloseAbnormal, CloseTLSHandshakeFailure, 1016, 2999, 5000} {
		if c.ValidOnWire() {
			t.Errorf("%v must not be valid on the wire", c)
		}
	}
}

func TestCloseCodeNamesAndStrings(t *testing.T) {
	tests := []struct {
		code CloseCode
		name string
	}{
		{1000, "OK"},
		{1001, "going away"},
		{1002, "protocol error"},
		{1003, "unsupported data"},
		{1004, "unknown"},
		{1005, "no status received [internal]"},
		{1006, "abnormal closure [internal]"},
		{1007, "invalid frame payload data"},
		{1008, "policy violation"},
		{1009, "message too big"},
		{1010, "mandatory extension"},
		{1011, "internal error"},
		{1012, "service restart"},
		{1013, "try again later"},
		{1014, "bad gateway"},
		{1015, "TLS handshake failure [internal]"},
		{1016, "unknown"},
		{2999, "unknown"},
		{3000, "registered"},
		{3999, "registered"},
		{4000, "private use"},
		{4999, "private use"},
		{5000, "unknown"},
		{0, "unknown"},
	}
	for _, tt := range tests {
		if got := tt.code.Name(); got != tt.name {
			t.Errorf("CloseCode(%d).Name() = %q, want %q", uint16(tt.code), got, tt.name)
		}
		want := itoa(int64(tt.code)) + " (" + tt.name + ")"
		if got := tt.code.String(); got != want {
			t.Errorf("CloseCode(%d).String() = %q, want %q", uint16(tt.code), got, want)
		}
	}
}

func TestCloseFrameString(t *testing.T) {
	tests := []struct {
		f    CloseFrame
		want string
	}{
		{CloseFrame{Code: 1000}, "1000 (OK)"},
		{CloseFrame{Code: 1001, Reason: "bye"}, "1001 (going away) bye"},
		{CloseFrame{Code: 1005}, "1005 (no status received [internal])"},
		{CloseFrame{Code: 4321, Reason: "custom"}, "4321 (private use) custom"},
	}
	for _, tt := range tests {
		if got := tt.f.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.f, got, tt.want)
		}
	}
}

func TestParseClosePayload(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		want    CloseFrame
		errCode CloseCode // 0: no error
	}{
		{"empty is 1005", nil, CloseFrame{Code: CloseNoStatus}, 0},
		{"one byte is too short", []byte{0x03}, CloseFrame{}, CloseProtocolError},
		{"code only", []byte{0x03, 0xe8}, CloseFrame{Code: 1000}, 0},
		{"code and reason", []byte("\x03\xe9bye"), CloseFrame{Code: 1001, Reason: "bye"}, 0},
		{"utf-8 reason", []byte("\x0f\xa0h\xc3\xa9"), CloseFrame{Code: 4000, Reason: "hé"}, 0},
		{"3000 is allowed", []byte{0x0b, 0xb8}, CloseFrame{Code: 3000}, 0},
		{"4999 is allowed", []byte{0x13, 0x87}, CloseFrame{Code: 4999}, 0},
		{"0 is invalid", []byte{0, 0}, CloseFrame{}, CloseProtocolError},
		{"999 is invalid", []byte{0x03, 0xe7}, CloseFrame{}, CloseProtocolError},
		{"1004 is invalid", []byte{0x03, 0xec}, CloseFrame{}, CloseProtocolError},
		{"1005 is invalid on the wire", []byte{0x03, 0xed}, CloseFrame{}, CloseProtocolError},
		{"1006 is invalid on the wire", []byte{0x03, 0xee}, CloseFrame{}, CloseProtocolError},
		{"1015 is invalid on the wire", []byte{0x03, 0xf7}, CloseFrame{}, CloseProtocolError},
		{"1016 is invalid", []byte{0x03, 0xf8}, CloseFrame{}, CloseProtocolError},
		{"2999 is invalid", []byte{0x0b, 0xb7}, CloseFrame{}, CloseProtocolError},
		{"5000 is invalid", []byte{0x13, 0x88}, CloseFrame{}, CloseProtocolError},
		{"65535 is invalid", []byte{0xff, 0xff}, CloseFrame{}, CloseProtocolError},
		{"invalid utf-8 reason", []byte("\x03\xe8ok\xff"), CloseFrame{}, CloseInvalidPayload},
		{"truncated utf-8 reason", []byte("\x03\xe8ok\xc3"), CloseFrame{}, CloseInvalidPayload},
		{"surrogate in reason", []byte("\x03\xe8\xed\xa0\x80"), CloseFrame{}, CloseInvalidPayload},
		{"123-byte reason", append([]byte{0x03, 0xe8}, strings.Repeat("r", 123)...), CloseFrame{Code: 1000, Reason: strings.Repeat("r", 123)}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseClosePayload(tt.in)
			if tt.errCode == 0 {
				if err != nil || got != tt.want {
					t.Fatalf("got %#v, %v; want %#v", got, err, tt.want)
				}
				return
			}
			var pe *ProtocolError
			if !errors.As(err, &pe) || pe.Code != tt.errCode {
				t.Fatalf("err = %v, want ProtocolError %d", err, tt.errCode)
			}
			if got != (CloseFrame{}) {
				t.Fatalf("frame %#v returned with error", got)
			}
		})
	}
}

func TestParseClosePayloadReportsPositionOfInvalidUTF8(t *testing.T) {
	_, err := ParseClosePayload([]byte("\x03\xe8abc\xffdef"))
	if err == nil || !strings.HasSuffix(err.Error(), "at position 3") || !errors.Is(err, ErrInvalidUTF8) {
		t.Fatalf("err = %v", err)
	}
	_, err = ParseClosePayload([]byte("\x03\xe7"))
	if err == nil || err.Error() != "ws: invalid status code 999" {
		t.Fatalf("err = %v", err)
	}
	_, err = ParseClosePayload([]byte("\x03"))
	if err == nil || err.Error() != "ws: close frame too short" {
		t.Fatalf("err = %v", err)
	}
}

func TestCloseFrameCheckAndAppendClosePayload(t *testing.T) {
	r123 := strings.Repeat("x", 123)
	r124 := strings.Repeat("x", 124)
	tests := []struct {
		name  string
		f     CloseFrame
		want  []byte
		errIs error // nil: accepted
	}{
		{"1000 without reason", CloseFrame{Code: 1000}, []byte{0x03, 0xe8}, nil},
		{"1001 with reason", CloseFrame{Code: 1001, Reason: "bye"}, []byte("\x03\xe9bye"), nil},
		{"1005 sends empty payload", CloseFrame{Code: CloseNoStatus}, []byte{}, nil},
		{"1005 with reason refused", CloseFrame{Code: CloseNoStatus, Reason: "x"}, nil, ErrInvalidSend},
		{"1006 refused", CloseFrame{Code: CloseAbnormal}, nil, ErrInvalidSend},
		{"1015 refused", CloseFrame{Code: CloseTLSHandshakeFailure}, nil, ErrInvalidSend},
		{"1004 refused", CloseFrame{Code: 1004}, nil, ErrInvalidSend},
		{"0 refused", CloseFrame{Code: 0}, nil, ErrInvalidSend},
		{"5000 refused", CloseFrame{Code: 5000}, nil, ErrInvalidSend},
		{"123-byte reason", CloseFrame{Code: 1000, Reason: r123}, append([]byte{0x03, 0xe8}, r123...), nil},
		{"124-byte reason refused", CloseFrame{Code: 1000, Reason: r124}, nil, ErrInvalidSend},
		{"invalid utf-8 reason refused", CloseFrame{Code: 1000, Reason: "\xff"}, nil, ErrInvalidUTF8},
		{"4999 private", CloseFrame{Code: 4999, Reason: "é"}, []byte("\x13\x87é"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.f.Check()
			dst := []byte("keep")
			got, aerr := AppendClosePayload(dst, tt.f)
			if tt.errIs == nil {
				if err != nil || aerr != nil {
					t.Fatalf("Check = %v, Append = %v", err, aerr)
				}
				if !bytes.Equal(got[4:], tt.want) || string(got[:4]) != "keep" {
					t.Fatalf("AppendClosePayload = % x, want keep + % x", got, tt.want)
				}
				if back, err := ParseClosePayload(got[4:]); err != nil || back != tt.f {
					t.Fatalf("round trip = %#v, %v", back, err)
				}
				return
			}
			// The caller's mistake: a *SendError, not a protocol error.
			var se *SendError
			if !errors.As(err, &se) || !errors.Is(err, ErrInvalidSend) || !errors.Is(err, tt.errIs) || errors.Is(err, ErrProtocol) {
				t.Fatalf("Check = %v, want a *SendError matching %v", err, tt.errIs)
			}
			if aerr == nil || !bytes.Equal(got, dst) {
				t.Fatalf("AppendClosePayload = %q, %v; want dst unchanged and an error", got, aerr)
			}
		})
	}
}
