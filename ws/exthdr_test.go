package ws

import (
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

func TestParseExtensionsAcceptsValidHeaders(t *testing.T) {
	pmd := "permessage-deflate"
	tests := []struct {
		name string
		in   []string
		want []ExtensionOffer
	}{
		{"none", nil, nil},
		{"empty value", []string{""}, nil},
		{"only commas and spaces", []string{" , ,\t,"}, nil},
		{"bare name", []string{pmd}, []ExtensionOffer{{Name: pmd}}},
		{"param without value", []string{pmd + "; client_max_window_bits"},
			[]ExtensionOffer{{Name: pmd, Params: []Param{{Name: "client_max_window_bits"}}}}},
		{"param with token value", []string{pmd + ";server_max_window_bits=10"},
			[]ExtensionOffer{{Name: pmd, Params: []Param{{Name: "server_max_window_bits", Value: "10"}}}}},
		{"quoted value", []string{pmd + `; server_max_window_bits="10"`},
			[]ExtensionOffer{{Name: pmd, Params: []Param{{Name: "server_max_window_bits", Value: "10"}}}}},
		{"quoted value with escapes", []string{`x; a="1\0"`},
			[]ExtensionOffer{{Name: "x", Params: []Param{{Name: "a", Value: "10"}}}}},
		{"OWS everywhere", []string{" \tfoo \t; \ta \t= \tb \t, \tbar\t "},
			[]ExtensionOffer{{Name: "foo", Params: []Param{{Name: "a", Value: "b"}}}, {Name: "bar"}}},
		{"several params", []string{"foo; a; b=1; c=\"2\""},
			[]ExtensionOffer{{Name: "foo", Params: []Param{{Name: "a"}, {Name: "b", Value: "1"}, {Name: "c", Value: "2"}}}}},
		{"empty elements", []string{",foo,,bar,"}, []ExtensionOffer{{Name: "foo"}, {Name: "bar"}}},
		{"several header values keep order", []string{"a; x=1", "b, a"},
			[]ExtensionOffer{{Name: "a", Params: []Param{{Name: "x", Value: "1"}}}, {Name: "b"}, {Name: "a"}}},
		{"duplicate offers kept", []string{pmd + ", " + pmd + "; client_no_context_takeover"},
			[]ExtensionOffer{{Name: pmd}, {Name: pmd, Params: []Param{{Name: "client_no_context_takeover"}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseExtensions(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

func TestParseExtensionsRejectsBadHeaders(t *testing.T) {
	tests := []struct {
		in  string
		pos int
	}{
		{";", 0},
		{"=", 0},
		{"foo bar", 4},
		{"foo;", 4},
		{"foo; ", 5},
		{"foo;;a", 4},
		{"foo; =1", 5},
		{"foo; a=", 7},
		{"foo; a= ", 8},
		{"foo; a=,", 7},
		{`foo; a="`, 7},
		{`foo; a="1`, 7},
		{`foo; a="1\`, 7},
		{`foo; a=""`, 7},
		{`foo; a="1 0"`, 7},  // unquotes to a non-token
		{`foo; a="a\"b"`, 7}, // unquotes to a non-token
		{"foo; a=\"\x01\"", 7},
		{"foo; a=b c", 9},
		{"foo; a=b=c", 8},
		{"foo, ;", 5},
		{"f\u00e9e", 1},
		{`"foo"`, 0},
		{"foo; a=\"é\"", 7}, // obs-text is allowed in a quoted string but is not a token
	}
	for _, tt := range tests {
		_, err := ParseExtensions([]string{"ok", tt.in})
		var he *HandshakeError
		if !errors.As(err, &he) || he.Status != http.StatusBadRequest || !errors.Is(err, ErrInvalidHeader) || !errors.Is(err, ErrInvalidHandshake) {
			t.Errorf("ParseExtensions(%q) err = %v", tt.in, err)
			continue
		}
		if !strings.HasSuffix(err.Error(), " at position "+itoa(int64(tt.pos))) {
			t.Errorf("ParseExtensions(%q) err = %v, want position %d", tt.in, err, tt.pos)
		}
	}
}

func TestFormatExtensionsRoundTrips(t *testing.T) {
	offers := []ExtensionOffer{
		{Name: "permessage-deflate", Params: []Param{{Name: "client_max_window_bits"}, {Name: "server_max_window_bits", Value: "12"}}},
		{Name: "x-foo"},
	}
	s := FormatExtensions(offers)
	if want := "permessage-deflate; client_max_window_bits; server_max_window_bits=12, x-foo"; s != want {
		t.Fatalf("FormatExtensions = %q, want %q", s, want)
	}
	back, err := ParseExtensions([]string{s})
	if err != nil || !reflect.DeepEqual(back, offers) {
		t.Fatalf("round trip = %#v, %v", back, err)
	}
	if FormatExtensions(nil) != "" {
		t.Fatal("FormatExtensions(nil) not empty")
	}
}

func TestQuoteForErrorCutsLongValues(t *testing.T) {
	if got := quoteForError("a\r\nb"); got != `"a\r\nb"` {
		t.Fatalf("quoteForError = %s", got)
	}
	long := strings.Repeat("x", 200)
	if got := quoteForError(long); got != `"`+strings.Repeat("x", 80)+`..."` {
		t.Fatalf("quoteForError(long) = %s", got)
	}
}
