package compress

import (
	"errors"
	"net/http"
	"testing"

	"github.com/tetherws/tether/ws"
)

// parseOffer parses the parameters of "permessage-deflate; <s>".
func parseOffer(t *testing.T, s string) []ws.Param {
	t.Helper()
	h := ExtensionName
	if s != "" {
		h += "; " + s
	}
	offers, err := ws.ParseExtensions([]string{h})
	if err != nil || len(offers) != 1 {
		t.Fatalf("ParseExtensions(%q): %v", h, err)
	}
	return offers[0].Params
}

func formatParams(ps []ws.Param) string {
	s := ws.FormatExtensions([]ws.ExtensionOffer{{Name: ExtensionName, Params: ps}})
	if len(s) > len(ExtensionName) {
		return s[len(ExtensionName)+2:]
	}
	return ""
}

func TestServerNegotiation(t *testing.T) {
	const declined = "DECLINED"
	tests := []struct {
		name  string
		opts  Options
		offer string
		want  string    // response parameters, or declined
		agree Agreement // the server's view, when accepted
	}{
		{"no params", Options{}, "", "server_max_window_bits=12", Agreement{LocalMaxWindowBits: 12, RemoteMaxWindowBits: 15}},
		{"bare client bits (Python client default)", Options{}, "client_max_window_bits",
			"server_max_window_bits=12; client_max_window_bits=12", Agreement{LocalMaxWindowBits: 12, RemoteMaxWindowBits: 12}},
		{"client bits below config echoed", Options{}, "client_max_window_bits=10",
			"server_max_window_bits=12; client_max_window_bits=10", Agreement{LocalMaxWindowBits: 12, RemoteMaxWindowBits: 10}},
		{"client bits above config lowered", Options{}, "client_max_window_bits=15",
			"server_max_window_bits=12; client_max_window_bits=12", Agreement{LocalMaxWindowBits: 12, RemoteMaxWindowBits: 12}},
		{"server bits below config kept", Options{}, "server_max_window_bits=10",
			"server_max_window_bits=10", Agreement{LocalMaxWindowBits: 10, RemoteMaxWindowBits: 15}},
		{"server bits above config lowered", Options{}, "server_max_window_bits=15",
			"server_max_window_bits=12", Agreement{LocalMaxWindowBits: 12, RemoteMaxWindowBits: 15}},
		{"quoted value", Options{}, `server_max_window_bits="9"`,
			"server_max_window_bits=9", Agreement{LocalMaxWindowBits: 9, RemoteMaxWindowBits: 15}},
		{"8 bits both ways", Options{}, "server_max_window_bits=8; client_max_window_bits=8",
			"server_max_window_bits=8; client_max_window_bits=8", Agreement{LocalMaxWindowBits: 8, RemoteMaxWindowBits: 8}},
		{"client asks server no takeover", Options{}, "server_no_context_takeover",
			"server_no_context_takeover; server_max_window_bits=12",
			Agreement{LocalNoContextTakeover: true, LocalMaxWindowBits: 12, RemoteMaxWindowBits: 15}},
		{"client announces no takeover", Options{}, "client_no_context_takeover",
			"client_no_context_takeover; server_max_window_bits=12",
			Agreement{RemoteNoContextTakeover: true, LocalMaxWindowBits: 12, RemoteMaxWindowBits: 15}},
		{"all four", Options{}, "server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9; client_max_window_bits=11",
			"server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9; client_max_window_bits=11",
			Agreement{true, true, 9, 11}},
		{"parameter order free", Options{}, "client_max_window_bits=11; server_max_window_bits=9; client_no_context_takeover",
			"client_no_context_takeover; server_max_window_bits=9; client_max_window_bits=11",
			Agreement{false, true, 9, 11}},
		{"server forces its no takeover", Options{ServerNoContextTakeover: true}, "",
			"server_no_context_takeover; server_max_window_bits=12",
			Agreement{LocalNoContextTakeover: true, LocalMaxWindowBits: 12, RemoteMaxWindowBits: 15}},
		{"server forces client no takeover", Options{ClientNoContextTakeover: true}, "client_max_window_bits",
			"client_no_context_takeover; server_max_window_bits=12; client_max_window_bits=12",
			Agreement{RemoteNoContextTakeover: true, LocalMaxWindowBits: 12, RemoteMaxWindowBits: 12}},
		{"server 15/15", Options{ServerMaxWindowBits: 15, ClientMaxWindowBits: 15}, "client_max_window_bits",
			"server_max_window_bits=15; client_max_window_bits=15", Agreement{LocalMaxWindowBits: 15, RemoteMaxWindowBits: 15}},
		{"server 9/9 lowers", Options{ServerMaxWindowBits: 9, ClientMaxWindowBits: 9}, "server_max_window_bits=12; client_max_window_bits=12",
			"server_max_window_bits=9; client_max_window_bits=9", Agreement{LocalMaxWindowBits: 9, RemoteMaxWindowBits: 9}},
		{"require client bits: offered", Options{RequireClientMaxWindowBits: true}, "client_max_window_bits",
			"server_max_window_bits=12; client_max_window_bits=12", Agreement{LocalMaxWindowBits: 12, RemoteMaxWindowBits: 12}},
		{"require client bits: missing", Options{RequireClientMaxWindowBits: true}, "", declined, Agreement{}},

		{"bare server bits", Options{}, "server_max_window_bits", declined, Agreement{}},
		{"server bits 7", Options{}, "server_max_window_bits=7", declined, Agreement{}},
		{"server bits 16", Options{}, "server_max_window_bits=16", declined, Agreement{}},
		{"server bits 08", Options{}, "server_max_window_bits=08", declined, Agreement{}},
		{"server bits word", Options{}, "server_max_window_bits=ten", declined, Agreement{}},
		{"client bits 7", Options{}, "client_max_window_bits=7", declined, Agreement{}},
		{"client bits +9", Options{}, "client_max_window_bits=+9", declined, Agreement{}},
		{"takeover with value", Options{}, "server_no_context_takeover=1", declined, Agreement{}},
		{"client takeover with value", Options{}, "client_no_context_takeover=true", declined, Agreement{}},
		{"duplicate flag", Options{}, "server_no_context_takeover; server_no_context_takeover", declined, Agreement{}},
		{"duplicate bits", Options{}, "client_max_window_bits; client_max_window_bits=10", declined, Agreement{}},
		{"duplicate server bits", Options{}, "server_max_window_bits=10; server_max_window_bits=10", declined, Agreement{}},
		{"unknown parameter", Options{}, "mem_level=5", declined, Agreement{}},
		{"unknown flag", Options{}, "x-custom", declined, Agreement{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := NewServerFactory(tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			resp, ext, err := f.Negotiate(parseOffer(t, tt.offer), nil)
			if tt.want == declined {
				if err == nil {
					t.Fatalf("accepted with %q", formatParams(resp))
				}
				if !errors.Is(err, ws.ErrNegotiation) || ext != nil {
					t.Fatalf("err = %v (%T), ext = %v", err, err, ext)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer ext.(*Deflate).Close()
			if got := formatParams(resp); got != tt.want {
				t.Errorf("response = %q, want %q", got, tt.want)
			}
			if got := formatParams(ext.Params()); got != tt.want {
				t.Errorf("Params() = %q, want %q", got, tt.want)
			}
			if got := ext.(*Deflate).Agreement(); got != tt.agree {
				t.Errorf("agreement = %+v, want %+v", got, tt.agree)
			}
			if ext.Name() != ExtensionName || ext.RsvBits() != ws.RSV1 {
				t.Errorf("Name %q RsvBits %#x", ext.Name(), ext.RsvBits())
			}
		})
	}
}

func TestClientOffer(t *testing.T) {
	tests := []struct {
		opts Options
		want string
	}{
		{Options{}, "client_max_window_bits"},
		{Fast, "server_no_context_takeover; client_no_context_takeover; client_max_window_bits"},
		{Options{ServerNoContextTakeover: true, ClientNoContextTakeover: true, ServerMaxWindowBits: 10, ClientMaxWindowBits: 9},
			"server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=9"},
		{Options{ServerMaxWindowBits: 8}, "server_max_window_bits=8; client_max_window_bits"},
	}
	for _, tt := range tests {
		f, err := NewClientFactory(tt.opts)
		if err != nil {
			t.Fatal(err)
		}
		if got := formatParams(f.Offer()); got != tt.want {
			t.Errorf("%+v: offer %q, want %q", tt.opts, got, tt.want)
		}
	}
}

func TestClientAcceptsAnswer(t *testing.T) {
	const fails = "FAILS"
	tests := []struct {
		name   string
		opts   Options
		answer string
		want   any // Agreement or fails
	}{
		{"empty answer: 15 both ways", Options{}, "", Agreement{LocalMaxWindowBits: 15, RemoteMaxWindowBits: 15}},
		{"Python server default", Options{}, "server_max_window_bits=12; client_max_window_bits=12",
			Agreement{LocalMaxWindowBits: 12, RemoteMaxWindowBits: 12}},
		{"server picks 8 for client", Options{}, "client_max_window_bits=8", Agreement{LocalMaxWindowBits: 8, RemoteMaxWindowBits: 15}},
		{"server no takeover", Options{}, "server_no_context_takeover",
			Agreement{RemoteNoContextTakeover: true, LocalMaxWindowBits: 15, RemoteMaxWindowBits: 15}},
		{"client no takeover imposed", Options{}, "client_no_context_takeover",
			Agreement{LocalNoContextTakeover: true, LocalMaxWindowBits: 15, RemoteMaxWindowBits: 15}},
		{"client no takeover announced, not echoed", Options{ClientNoContextTakeover: true}, "",
			Agreement{LocalNoContextTakeover: true, LocalMaxWindowBits: 15, RemoteMaxWindowBits: 15}},
		{"bare client bits in answer", Options{}, "client_max_window_bits", fails},
		{"duplicate parameter", Options{}, "server_max_window_bits=10; server_max_window_bits=10", fails},
		{"unknown parameter", Options{}, "foo=bar", fails},
		{"bad bits", Options{}, "server_max_window_bits=16", fails},
		{"flag with value", Options{}, "server_no_context_takeover=x", fails},

		{"client bits: answer missing uses ours", Options{ClientMaxWindowBits: 10}, "",
			Agreement{LocalMaxWindowBits: 10, RemoteMaxWindowBits: 15}},
		{"client bits: lower answer", Options{ClientMaxWindowBits: 10}, "client_max_window_bits=9",
			Agreement{LocalMaxWindowBits: 9, RemoteMaxWindowBits: 15}},
		{"client bits: higher answer", Options{ClientMaxWindowBits: 10}, "client_max_window_bits=11", fails},

		{"server bits asked: missing", Options{ServerMaxWindowBits: 10}, "", fails},
		{"server bits asked: same", Options{ServerMaxWindowBits: 10}, "server_max_window_bits=10",
			Agreement{LocalMaxWindowBits: 15, RemoteMaxWindowBits: 10}},
		{"server bits asked: lower", Options{ServerMaxWindowBits: 10}, "server_max_window_bits=8",
			Agreement{LocalMaxWindowBits: 15, RemoteMaxWindowBits: 8}},
		{"server bits asked: higher", Options{ServerMaxWindowBits: 10}, "server_max_window_bits=11", fails},
		{"server bits not asked: any", Options{}, "server_max_window_bits=13",
			Agreement{LocalMaxWindowBits: 15, RemoteMaxWindowBits: 13}},

		{"server no takeover asked: missing", Options{ServerNoContextTakeover: true}, "", fails},
		{"server no takeover asked: given", Options{ServerNoContextTakeover: true}, "server_no_context_takeover",
			Agreement{RemoteNoContextTakeover: true, LocalMaxWindowBits: 15, RemoteMaxWindowBits: 15}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := NewClientFactory(tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			ext, err := f.Accept(parseOffer(t, tt.answer), nil)
			if tt.want == fails {
				if err == nil {
					ext.(*Deflate).Close()
					t.Fatal("accepted")
				}
				if !errors.Is(err, ws.ErrNegotiation) {
					t.Fatalf("err = %v (%T)", err, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer ext.(*Deflate).Close()
			if got := ext.(*Deflate).Agreement(); got != tt.want.(Agreement) {
				t.Errorf("agreement = %+v, want %+v", got, tt.want)
			}
			if got := formatParams(ext.Params()); got != tt.answer {
				t.Errorf("Params() = %q, want the answer %q", got, tt.answer)
			}
		})
	}
}

// fakeExt is another extension, possibly claiming RSV1.
type fakeExt struct {
	name string
	rsv  byte
}

func (f fakeExt) Name() string                  { return f.name }
func (f fakeExt) Params() []ws.Param            { return nil }
func (f fakeExt) RsvBits() byte                 { return f.rsv }
func (f fakeExt) Encode(*ws.Frame) error        { return nil }
func (f fakeExt) Decode(*ws.Frame, int64) error { return nil }

func TestNegotiationConflicts(t *testing.T) {
	cf, _ := NewClientFactory(Options{})
	sf, _ := NewServerFactory(Options{})
	for _, acc := range [][]ws.Extension{
		{fakeExt{name: ExtensionName}},
		{fakeExt{name: "x-other", rsv: ws.RSV1}},
	} {
		if _, err := cf.Accept(nil, acc); !errors.Is(err, ws.ErrNegotiation) {
			t.Errorf("client with %v accepted: %v", acc, err)
		}
		if _, _, err := sf.Negotiate(nil, acc); !errors.Is(err, ws.ErrNegotiation) {
			t.Errorf("server with %v accepted: %v", acc, err)
		}
	}
	// Another extension on RSV2 does not conflict.
	ext, err := cf.Accept(nil, []ws.Extension{fakeExt{name: "x-other", rsv: ws.RSV2}})
	if err != nil {
		t.Fatal(err)
	}
	ext.(*Deflate).Close()
}

// Through the ws handshake: a bad offer is declined and a later one taken;
// a duplicate offer is accepted once; a duplicate answer fails the client.
func TestHandshakeOffers(t *testing.T) {
	sf, _ := NewServerFactory(Options{})
	sh := ws.ServerHandshake{Extensions: []ws.ServerExtensionFactory{sf}}
	accept := func(offer string) string {
		t.Helper()
		ch := ws.ClientHandshake{}
		u, _ := ws.ParseURI("ws://example.com/")
		req, _, _ := ch.Request(u)
		req.Header.Set("Sec-WebSocket-Extensions", offer)
		h, n, err := sh.Accept(req)
		if err != nil {
			t.Fatalf("%q: %v", offer, err)
		}
		ws.CloseExtensions(n.Extensions)
		return h.Get("Sec-WebSocket-Extensions")
	}
	for offer, want := range map[string]string{
		"permessage-deflate; foo, permessage-deflate; client_max_window_bits=9": "permessage-deflate; server_max_window_bits=12; client_max_window_bits=9",
		"permessage-deflate; client_max_window_bits, permessage-deflate":        "permessage-deflate; server_max_window_bits=12; client_max_window_bits=12",
		"permessage-deflate; server_max_window_bits=20":                         "",
		"x-unknown, permessage-deflate":                                         "permessage-deflate; server_max_window_bits=12",
	} {
		if got := accept(offer); got != want {
			t.Errorf("offer %q: answer %q, want %q", offer, got, want)
		}
	}

	cf, _ := NewClientFactory(Options{})
	ch := ws.ClientHandshake{Extensions: []ws.ClientExtensionFactory{cf}}
	u, _ := ws.ParseURI("ws://example.com/")
	_, key, _ := ch.Request(u)
	h := http.Header{}
	h.Set("Upgrade", "websocket")
	h.Set("Connection", "Upgrade")
	h.Set("Sec-WebSocket-Accept", ws.AcceptKey(key))
	h.Set("Sec-WebSocket-Extensions", "permessage-deflate, permessage-deflate")
	if _, err := ch.Check(&http.Response{StatusCode: 101, Header: h}, key); !errors.Is(err, ws.ErrNegotiation) {
		t.Fatalf("duplicate answer: %v", err)
	}
}

func TestInvalidOptions(t *testing.T) {
	for _, o := range []Options{
		{Level: 10}, {Level: -1}, {Level: -3}, {Threshold: -1},
		{ServerMaxWindowBits: 7}, {ServerMaxWindowBits: 16}, {ClientMaxWindowBits: 1},
	} {
		if _, err := NewClientFactory(o); !errors.Is(err, ErrOptions) {
			t.Errorf("client %+v: %v", o, err)
		}
		if _, err := NewServerFactory(o); !errors.Is(err, ErrOptions) {
			t.Errorf("server %+v: %v", o, err)
		}
	}
}

// Every combination of client and server settings negotiates, both ends
// agree on the result, the result respects both configurations, and
// messages flow both ways.
func TestNegotiationMatrix(t *testing.T) {
	bitsClient := []int{0, 8, 15}
	bitsServer := []int{0, 15}
	msgs := testCorpus(2)[1:]
	n := 0
	for flags := range 16 {
		for _, csb := range bitsClient {
			for _, ccb := range bitsClient {
				for _, ssb := range bitsServer {
					for _, scb := range bitsServer {
						co := Options{ServerNoContextTakeover: flags&1 != 0, ClientNoContextTakeover: flags&2 != 0,
							ServerMaxWindowBits: csb, ClientMaxWindowBits: ccb}
						so := Options{ServerNoContextTakeover: flags&4 != 0, ClientNoContextTakeover: flags&8 != 0,
							ServerMaxWindowBits: ssb, ClientMaxWindowBits: scb, RequireClientMaxWindowBits: n%2 == 0}
						n++
						c := newConn(t, co, so, ws.Config{})
						ca, sa := c.cext.Agreement(), c.sext.Agreement()
						if ca.LocalNoContextTakeover != sa.RemoteNoContextTakeover || ca.RemoteNoContextTakeover != sa.LocalNoContextTakeover ||
							ca.LocalMaxWindowBits != sa.RemoteMaxWindowBits || ca.RemoteMaxWindowBits != sa.LocalMaxWindowBits {
							t.Fatalf("%+v / %+v: client %+v, server %+v", co, so, ca, sa)
						}
						ok := (!co.ServerNoContextTakeover || ca.RemoteNoContextTakeover) &&
							(!so.ServerNoContextTakeover || sa.LocalNoContextTakeover) &&
							(!co.ClientNoContextTakeover || ca.LocalNoContextTakeover) &&
							(!so.ClientNoContextTakeover || sa.RemoteNoContextTakeover) &&
							(csb == 0 || ca.RemoteMaxWindowBits <= csb) &&
							(ccb == 0 || ca.LocalMaxWindowBits <= ccb) &&
							sa.LocalMaxWindowBits <= max(ssb, DefaultWindowBits*(1-min(ssb, 1))) &&
							sa.RemoteMaxWindowBits <= max(scb, DefaultWindowBits*(1-min(scb, 1)))
						if !ok {
							t.Fatalf("%+v / %+v: agreement %+v breaks a setting", co, so, ca)
						}
						transfer(t, c.c, c.s, msgs, 0)
						transfer(t, c.s, c.c, msgs, 0)
					}
				}
			}
		}
	}
}

// EncodingKey: an endpoint that compresses each message on its own shares
// its encoding with every endpoint of the same level, threshold and
// window; with context takeover it shares nothing.
func TestEncodingKey(t *testing.T) {
	var _ ws.SharedEncoder = (*Deflate)(nil)
	nctx := Options{ServerNoContextTakeover: true}
	key := func(so Options) (any, bool) {
		_, se := handshake(t, Options{}, so)
		defer se.Close()
		return se.EncodingKey()
	}
	if _, ok := key(Options{}); ok {
		t.Error("context takeover: the encoding is shared")
	}
	k1, ok1 := key(nctx)
	k2, ok2 := key(nctx)
	if !ok1 || !ok2 || k1 != k2 {
		t.Errorf("no context takeover: keys %v %v, %v %v", k1, ok1, k2, ok2)
	}
	for _, other := range []Options{
		{ServerNoContextTakeover: true, Level: 9},
		{ServerNoContextTakeover: true, Threshold: 1000},
		{ServerNoContextTakeover: true, ServerMaxWindowBits: 10},
	} {
		if k, ok := key(other); !ok || k == k1 {
			t.Errorf("%+v: key %v (%v), same as the defaults' %v", other, k, ok, k1)
		}
	}
	if _, ok := key(Options{Level: HuffmanOnly}); !ok {
		t.Error("Huffman only (no back-references): the encoding is not shared")
	}
}
