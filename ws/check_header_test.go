package ws

import (
	"errors"
	"net/http"
	"testing"
)

func TestCheckHeaderRefusesWhatWouldSplitTheHead(t *testing.T) {
	for _, tt := range []struct {
		name string
		h    http.Header
		ok   bool
	}{
		{"empty", nil, true},
		{"plain", http.Header{"Server": {"tether/1"}, "X-A": {"b\tc"}}, true},
		{"CR LF in a value", http.Header{"Server": {"x\r\nSet-Cookie: a=b"}}, false},
		{"LF in a value", http.Header{"X-A": {"a\nb"}}, false},
		{"NUL in a value", http.Header{"X-A": {"a\x00b"}}, false},
		{"DEL in a value", http.Header{"X-A": {"a\x7fb"}}, false},
		{"space in a name", http.Header{"X A": {"b"}}, false},
		{"colon in a name", http.Header{"X:A": {"b"}}, false},
		{"empty name", http.Header{"": {"b"}}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckHeader(tt.h)
			if (err == nil) != tt.ok {
				t.Fatalf("CheckHeader = %v, want ok %v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalidHeader) {
				t.Fatalf("%v does not match ErrInvalidHeader", err)
			}
			if _, aerr := AppendResponse(nil, 200, tt.h, nil); (aerr == nil) != tt.ok {
				t.Fatalf("AppendResponse = %v, want ok %v", aerr, tt.ok)
			}
		})
	}
}
