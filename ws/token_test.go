package ws

import (
	"errors"
	"net/http"
	"reflect"
	"testing"
)

func TestIsToken(t *testing.T) {
	for _, s := range []string{"a", "permessage-deflate", "x-webkit-deflate-frame", "!#$%&'*+-.^_`|~", "Az09"} {
		if !IsToken(s) {
			t.Errorf("IsToken(%q) = false", s)
		}
	}
	for _, s := range []string{"", "a b", "a,b", "a;b", "a=b", `"a"`, "a/b", "é", "a\tb", "(a)", "a:b", "[a]", "{a}", "a\\b", "a?", "a@b"} {
		if IsToken(s) {
			t.Errorf("IsToken(%q) = true", s)
		}
	}
}

func TestIsTokenCharMatchesTheTcharSet(t *testing.T) {
	const tchar = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	for c := 0; c < 256; c++ {
		want := false
		for i := 0; i < len(tchar); i++ {
			want = want || tchar[i] == byte(c)
		}
		if got := IsTokenChar(byte(c)); got != want {
			t.Errorf("IsTokenChar(%#x) = %v, want %v", c, got, want)
		}
	}
}

func TestSkipOWSAndParseTokenReturnTheNextIndex(t *testing.T) {
	s := "a \t\tfoo-1=bar"
	if i := SkipOWS(s, 1); i != 4 {
		t.Fatalf("SkipOWS = %d, want 4", i)
	}
	if i := SkipOWS(s, 4); i != 4 {
		t.Fatalf("SkipOWS at a token = %d, want 4", i)
	}
	if i := SkipOWS("  ", 0); i != 2 {
		t.Fatalf("SkipOWS to the end = %d, want 2", i)
	}
	if tok, i := ParseToken(s, 4); tok != "foo-1" || i != 9 {
		t.Fatalf("ParseToken = %q, %d; want foo-1, 9", tok, i)
	}
	if tok, i := ParseToken(s, 9); tok != "" || i != 9 {
		t.Fatalf("ParseToken at '=' = %q, %d; want empty, 9", tok, i)
	}
}

func TestParseQuoted(t *testing.T) {
	for _, tt := range []struct {
		in, want string
		next     int
		ok       bool
	}{
		{`"abc" rest`, "abc", 5, true},
		{`""`, "", 2, true},
		{`"a\"b\\c"`, `a"b\c`, 9, true},
		{"\"tab\there\"", "tab\there", 10, true},
		{`"héllo"`, "héllo", 8, true},
		{`"unterminated`, "", 13, false},
		{`"ends in \`, "", 10, false},
		{"\"bell\x07\"", "", 5, false},
		{"\"del\x7f\"", "", 4, false},
	} {
		got, next, ok := ParseQuoted(tt.in, 0)
		if got != tt.want || next != tt.next || ok != tt.ok {
			t.Errorf("ParseQuoted(%q) = %q, %d, %v; want %q, %d, %v", tt.in, got, next, ok, tt.want, tt.next, tt.ok)
		}
	}
}

func TestParseTokenList(t *testing.T) {
	tests := []struct {
		in   []string
		want []string
		ok   bool
	}{
		{nil, nil, true},
		{[]string{""}, nil, true},
		{[]string{"Upgrade"}, []string{"Upgrade"}, true},
		{[]string{" keep-alive ,\tUpgrade\t"}, []string{"keep-alive", "Upgrade"}, true},
		{[]string{",,a,,", "b"}, []string{"a", "b"}, true},
		{[]string{"websocket/13"}, []string{"websocket/13"}, true},
		{[]string{"chat, superchat"}, []string{"chat", "superchat"}, true},
		{[]string{"a b"}, nil, false},
		{[]string{"a/"}, nil, false},
		{[]string{"/1"}, nil, false},
		{[]string{"a/b/c"}, nil, false},
		{[]string{"ok", "a;b"}, nil, false},
		{[]string{`"quoted"`}, nil, false},
	}
	for _, tt := range tests {
		got, err := ParseTokenList(tt.in)
		if tt.ok {
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseTokenList(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
			continue
		}
		var he *HandshakeError
		if !errors.As(err, &he) || he.Status != http.StatusBadRequest || !errors.Is(err, ErrInvalidHeader) {
			t.Errorf("ParseTokenList(%q) err = %v", tt.in, err)
		}
	}
}
