package httpauth

import (
	"reflect"
	"testing"
)

func TestParseChallengesAndCredentials(t *testing.T) {
	type ch = Challenge
	type p = map[string]string
	for _, tt := range []struct {
		name string
		in   []string
		want []Challenge
	}{
		{"none", nil, nil},
		{"empty", []string{" , "}, nil},
		{"bare scheme", []string{"Negotiate"}, []ch{{"negotiate", p{}}}},
		{"params", []string{`Basic realm="chat \"room\"", charset=UTF-8`},
			[]ch{{"basic", p{"realm": `chat "room"`, "charset": "UTF-8"}}}},
		{"names in lower case, OWS around =", []string{"Digest  Realm = x ,NONCE=\"n\""},
			[]ch{{"digest", p{"realm": "x", "nonce": "n"}}}},
		{"two challenges in one value", []string{`Basic realm="a", Digest realm="b", nonce=n`},
			[]ch{{"basic", p{"realm": "a"}}, {"digest", p{"realm": "b", "nonce": "n"}}}},
		{"challenges across values", []string{`Bearer`, `Basic realm="a"`},
			[]ch{{"bearer", p{}}, {"basic", p{"realm": "a"}}}},
		{"empty list elements", []string{`, Basic realm=a,, , Bearer,`},
			[]ch{{"basic", p{"realm": "a"}}, {"bearer", p{}}}},
		{"a comma-separated qop", []string{`Digest qop="auth, auth-int", algorithm=MD5`},
			[]ch{{"digest", p{"qop": "auth, auth-int", "algorithm": "MD5"}}}},
		{"token68 is not parsed", []string{"Basic YWxpY2U6cHc="},
			[]ch{{"basic", p{"ywxpy2u6chc": ""}}}},
		{"unterminated quoted-string stops the value", []string{`Digest realm="r", nonce="n`, `Basic realm=x`},
			[]ch{{"digest", p{"realm": "r"}}, {"basic", p{"realm": "x"}}}},
		{"control character in a quoted-string", []string{"Digest a=1, b=\"x\x01\", c=3"},
			[]ch{{"digest", p{"a": "1"}}}},
		{"stray character", []string{`Basic realm=a; Bearer`},
			[]ch{{"basic", p{"realm": "a"}}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := Parse(tt.in); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Parse(%q)\n got %v\nwant %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestQuoteRoundTripsThroughParse(t *testing.T) {
	for _, s := range []string{"", "plain", `with "quotes"`, `back\slash`, "zoë, 1"} {
		q := Quote(s)
		got := Parse([]string{"X v=" + q})
		if len(got) != 1 || got[0].Params["v"] != s {
			t.Errorf("Quote(%q) = %s parses as %v", s, q, got)
		}
	}
	if got := Quote(`a"b\c`); got != `"a\"b\\c"` {
		t.Errorf("Quote = %s", got)
	}
}
