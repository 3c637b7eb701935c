package ws

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzParseHeader(f *testing.F) {
	for _, seed := range [][]byte{
		{}, {0x81}, {0x81, 0x05}, {0x81, 0x85, 1, 2, 3, 4},
		{0x82, 126, 0, 126}, {0x82, 126, 0, 125}, {0x82, 0xfe, 0xff, 0xff, 1, 2, 3, 4},
		{0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0}, {0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0},
		{0x82, 0xff, 0x40, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}, {0xff, 0xff},
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, n, err := ParseHeader(b)
		switch {
		case err == nil:
			if n > len(b) || n != HeaderSize(h.Length, h.Masked) || h.Length < 0 {
				t.Fatalf("n %d len %d header %+v", n, len(b), h)
			}
			// Only minimal encodings are accepted, so the header
			// re-encodes to the same bytes.
			if got := AppendHeader(nil, h); !bytes.Equal(got, b[:n]) {
				t.Fatalf("re-encoded % x, parsed % x", got, b[:n])
			}
			if h.Rsv&^(RSV1|RSV2|RSV3) != 0 || h.Opcode > 0xf {
				t.Fatalf("header %+v", h)
			}
		case errors.Is(err, ErrNeedMore):
			if n != 0 || len(b) >= MaxHeaderSize {
				t.Fatalf("need more with %d bytes, n %d", len(b), n)
			}
		case errors.Is(err, ErrNonMinimalLength), errors.Is(err, ErrLengthOverflow):
			if n != 4 && n != 10 || n > len(b) {
				t.Fatalf("n %d for %v", n, err)
			}
		default:
			t.Fatalf("unexpected error %v", err)
		}
	})
}

func FuzzParseRequest(f *testing.F) {
	f.Add([]byte(validRequest))
	f.Add([]byte("GET / HTTP/1.1\r\nHost: h\r\n\r\n"))
	f.Add([]byte("GET / HTTP/1.0\r\n\r\n"))
	f.Add([]byte("GET /a?b HTTP/1.1\r\nX: a\r\n b\r\n\r\n"))
	f.Add([]byte("GET / HTTP/1.1\nHost: h\n\n"))
	f.Add([]byte("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"))
	f.Add([]byte("GET http://h/x HTTP/1.1\r\nHost: h\r\nHost: i\r\n\r\n"))
	f.Add([]byte("GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"))
	f.Add([]byte("GET * HTTP/1.1\r\n:\r\n\r\n"))
	lim := Limits{MaxLineLength: 256, MaxHeaders: 8}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, l := range []Limits{{}, lim} {
			req, n, err := ParseRequest(b, l)
			if err != nil {
				var he *HandshakeError
				if !errors.Is(err, ErrNeedMore) && (!errors.As(err, &he) || he.Status < 400) {
					t.Fatalf("error %v is not a handshake error with a status", err)
				}
				if errors.Is(err, ErrNeedMore) && len(b) >= l.MaxHeadSize() {
					t.Fatalf("need more after %d bytes", len(b))
				}
				continue
			}
			if n > len(b) || !bytes.HasSuffix(b[:n], []byte("\r\n\r\n")) && n != 2 {
				t.Fatalf("n = %d", n)
			}
			count := 0
			for _, vs := range req.Header {
				count += len(vs)
			}
			if req.Host != "" {
				count++
			}
			if max := l.withDefaults().MaxHeaders; count > max {
				t.Fatalf("%d headers accepted, limit %d", count, max)
			}
			// Every strict prefix of an accepted head needs more.
			for _, k := range []int{0, n / 2, n - 1} {
				if _, _, err := ParseRequest(b[:k], l); !errors.Is(err, ErrNeedMore) {
					t.Fatalf("prefix of %d bytes: %v", k, err)
				}
			}
			// An accepted request serialises, and parses back the same.
			out, err := AppendRequest(nil, req)
			if err != nil {
				t.Fatalf("AppendRequest: %v", err)
			}
			back, _, err := ParseRequest(out, Limits{MaxLineLength: 1 << 20, MaxHeaders: 1000})
			if err != nil {
				t.Fatalf("parse back %q: %v", out, err)
			}
			// Without a Host header, AppendRequest takes the host of an
			// absolute-form target.
			host := req.Host
			if host == "" {
				host = req.URL.Host
			}
			if back.Method != req.Method || back.Host != host || !reflect.DeepEqual(back.Header, req.Header) {
				t.Fatalf("round trip: %+v vs %+v", back, req)
			}
		}
	})
}

func FuzzParseResponse(f *testing.F) {
	f.Add([]byte(validResponse), false)
	f.Add([]byte("HTTP/1.1 404 Not Found\r\nContent-Length: 5\r\n\r\nhello"), false)
	f.Add([]byte("HTTP/1.1 500 Oops\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"), false)
	f.Add([]byte("HTTP/1.1 403 Forbidden\r\n\r\ngo away"), false)
	f.Add([]byte("HTTP/1.0 200 Connection established\r\n\r\n"), true)
	f.Add([]byte("HTTP/1.1 204 No Content\r\nContent-Length: 9\r\n\r\n"), false)
	f.Add([]byte("HTTP/1.1 302 Found\r\nLocation: ws://h/\r\nContent-Length: 99999999999999999999\r\n\r\n"), false)
	f.Fuzz(func(t *testing.T, b []byte, http10 bool) {
		lim := Limits{MaxLineLength: 512, MaxHeaders: 16, MaxBodySize: 64}
		resp, n, err := ParseResponse(b, lim, http10)
		if err != nil {
			if !errors.Is(err, ErrNeedMore) && !errors.Is(err, ErrInvalidHandshake) {
				t.Fatalf("error %v", err)
			}
			return
		}
		if n > len(b) || resp.StatusCode < 100 || resp.StatusCode > 599 {
			t.Fatalf("n %d status %d", n, resp.StatusCode)
		}
		if resp.Proto != "HTTP/1.1" && !(http10 && resp.Proto == "HTTP/1.0") {
			t.Fatalf("proto %q", resp.Proto)
		}
		body, err := ReadResponseBody(bytes.NewReader(b[n:]), resp, lim)
		if err != nil && !errors.Is(err, ErrInvalidHandshake) {
			t.Fatalf("body error %v", err)
		}
		if int64(len(body)) > lim.MaxBodySize {
			t.Fatalf("body of %d bytes over the limit", len(body))
		}
		if err == nil && resp.Header.Get("Transfer-Encoding") == "" && resp.Header.Get("Content-Length") == "" &&
			resp.StatusCode >= 200 && resp.StatusCode != 204 && resp.StatusCode != 304 && !bytes.Equal(body, b[n:]) {
			t.Fatalf("EOF-delimited body %q, want %q", body, b[n:])
		}
	})
}

func FuzzParseExtensions(f *testing.F) {
	for _, s := range []string{
		"permessage-deflate", "permessage-deflate; client_max_window_bits",
		`permessage-deflate; server_max_window_bits="10", permessage-deflate`,
		"a;b=c;d , e", `x; a="1\0"`, ",,", `x; a="`, "x; a=", "x y", "websocket/13, h2c",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		offers, err := ParseExtensions([]string{s})
		if err != nil {
			if !errors.Is(err, ErrInvalidHeader) {
				t.Fatalf("error %v", err)
			}
		} else {
			for _, o := range offers {
				if !IsToken(o.Name) {
					t.Fatalf("name %q", o.Name)
				}
				for _, p := range o.Params {
					if !IsToken(p.Name) || p.Value != "" && !IsToken(p.Value) {
						t.Fatalf("param %+v", p)
					}
				}
			}
			back, err := ParseExtensions([]string{FormatExtensions(offers)})
			if err != nil || !reflect.DeepEqual(back, offers) {
				t.Fatalf("round trip of %q: %#v, %v; want %#v", s, back, err, offers)
			}
		}
		list, err := ParseTokenList([]string{s})
		if err == nil {
			for _, tok := range list {
				name, ver, _ := strings.Cut(tok, "/")
				if !IsToken(name) || strings.Contains(tok, "/") && !IsToken(ver) {
					t.Fatalf("token %q", tok)
				}
			}
		}
	})
}

// fuzzConfigs are the protocol configurations FuzzProtocol picks from.
func fuzzConfig(sel byte) (Side, Config) {
	side := Side(sel & 1)
	identity := &fakeExt{name: "id", rsv: RSV1, decode: func(f *Frame, limit int64) error {
		f.Rsv &^= RSV1
		if limit >= 0 && int64(len(f.Payload)) > limit {
			return &ProtocolError{Code: CloseMessageTooBig, Msg: "frame exceeds limit"}
		}
		return nil
	}}
	switch (sel >> 1) % 5 {
	case 1:
		return side, Config{MaxMessageSize: 64, MaxFrameSize: 32}
	case 2:
		return side, Config{MaxMessageSize: 100, Extensions: []Extension{identity}}
	case 3:
		return side, Config{MaxMessageSize: -1}
	case 4:
		return side, Config{MaxMessageSize: 100, Extensions: []Extension{&fakeExt{name: "all", decode: func(f *Frame, _ int64) error {
			f.Rsv = 0
			return nil
		}}}}
	}
	return side, Config{}
}

// fuzzRun feeds b to a new protocol in the chunks given by splits, checks
// invariants on every event, and returns a split-independent transcript.
func fuzzRun(t *testing.T, sel byte, b []byte, splits []byte) string {
	side, cfg := fuzzConfig(sel)
	p := NewProtocol(side, cfg)
	maxMsg := p.maxMsg
	carryBound := 256
	if len(cfg.Extensions) > 0 {
		// A frame an extension decodes is buffered whole, up to the
		// budget plus encoding overhead (checkWireSize): still bounded by
		// the limit, never by a length the peer declares.
		carryBound += 2 * int(maxMsg+maxMsg/8+1024)
	}
	var tr strings.Builder
	var msg []byte
	var msgLen int64
	inMsg := false
	var op Opcode
	var failed error
	in := bytes.Clone(b)
	si := 0
	for len(in) > 0 && failed == nil {
		k := len(in)
		if si < len(splits) {
			k = min(k, int(splits[si])+1)
			si++
		}
		chunk := in[:k]
		in = in[k:]
		// Split runs hand the rest of a plain data frame over with
		// FeedPayload, as a reader filling its own buffer does: the
		// transcript must be the same as with Feed.
		direct := 0
		if splits != nil {
			direct = int(min(p.PayloadRemaining(), int64(len(chunk))))
		}
		if direct == 0 {
			if err := p.Feed(chunk); err != nil {
				t.Fatalf("Feed: %v", err)
			}
		}
		for first := true; ; first = false {
			var ev Event
			var err error
			switch {
			case direct > 0 && first:
				ev, err = p.FeedPayload(chunk[:direct])
			case direct > 0 && len(chunk) > direct:
				// The rest of the chunk goes through Feed.
				if err := p.Feed(chunk[direct:]); err != nil {
					t.Fatalf("Feed: %v", err)
				}
				direct = 0
				ev, err = p.Next()
			default:
				ev, err = p.Next()
			}
			if cap(p.carry) > carryBound {
				t.Fatalf("carry grew to %d bytes", cap(p.carry))
			}
			if err != nil {
				var pe *ProtocolError
				if !errors.As(err, &pe) || p.Failure() != err {
					t.Fatalf("error %v", err)
				}
				failed = err
				fmt.Fprintf(&tr, "fail %d %s\n", pe.Code, pe.Msg)
				break
			}
			if ev.Kind == EventNone {
				if direct > 0 && len(chunk) > direct {
					continue // the failure case: FeedPayload ignored it
				}
				break
			}
			switch ev.Kind {
			case EventData:
				if ev.First == inMsg || (!ev.First && ev.Opcode != op) || ev.Opcode != OpText && ev.Opcode != OpBinary {
					t.Fatalf("bad piece %+v (in message %v, op %v)", ev, inMsg, op)
				}
				if ev.First {
					op, msg, msgLen, inMsg = ev.Opcode, nil, 0, true
				}
				msgLen += int64(len(ev.Payload))
				if maxMsg >= 0 && msgLen > maxMsg {
					t.Fatalf("message of %d bytes over the limit %d", msgLen, maxMsg)
				}
				if f := cfg.MaxFrameSize; f > 0 && int64(len(ev.Payload)) > f {
					t.Fatalf("piece of %d bytes over the frame limit %d", len(ev.Payload), f)
				}
				msg = append(msg, ev.Payload...)
				if ev.Fin {
					if op == OpText && !utf8.Valid(msg) {
						t.Fatalf("invalid UTF-8 delivered: %q", msg)
					}
					fmt.Fprintf(&tr, "%v %q\n", op, msg)
					inMsg = false
				}
			case EventPing, EventPong:
				if len(ev.Payload) > MaxControlPayload {
					t.Fatalf("control payload of %d bytes", len(ev.Payload))
				}
				fmt.Fprintf(&tr, "%v %q\n", ev.Kind, ev.Payload)
			case EventClose:
				if ev.Close.Code != CloseNoStatus && !ev.Close.Code.ValidOnWire() || !utf8.ValidString(ev.Close.Reason) {
					t.Fatalf("close %v", ev.Close)
				}
				fmt.Fprintf(&tr, "close %v\n", ev.Close)
			default:
				t.Fatalf("event kind %v", ev.Kind)
			}
		}
		// Output is always well-formed: masked frames on the client,
		// control frames of at most 125 bytes.
		out := p.TakeOutput(nil)
		for len(out) > 0 {
			h, n, err := ParseHeader(out)
			if err != nil || h.Masked != (side == Client) || !h.Opcode.IsControl() || h.Length > MaxControlPayload || int64(len(out)-n) < h.Length {
				t.Fatalf("bad output % x: %v", out, err)
			}
			out = out[n+int(h.Length):]
		}
	}
	if failed != nil {
		if p.State() != StateClosing && p.State() != StateOpen || !p.CloseExpected() {
			t.Fatalf("state %v after failure", p.State())
		}
		// Later input is ignored.
		_ = p.Feed([]byte{0x81, 0x00})
		if ev, err := p.Next(); ev.Kind != EventNone || err != nil {
			t.Fatalf("event after failure: %+v %v", ev, err)
		}
	}
	p.FeedEOF()
	if p.State() != StateClosed || !p.CloseTransport() {
		t.Fatalf("state %v after EOF", p.State())
	}
	_ = p.CloseError(nil).Error()
	return tr.String()
}

func FuzzProtocol(f *testing.F) {
	c := NewProtocol(Client, Config{})
	var clientWire []byte
	clientWire, _ = c.AppendData(clientWire, OpText, false, []byte("héllo "), false)
	clientWire, _ = c.AppendPing(clientWire, []byte("ping"))
	clientWire, _ = c.AppendData(clientWire, OpContinuation, true, []byte("wörld"), false)
	clientWire, _ = c.AppendData(clientWire, OpBinary, true, bytes.Repeat([]byte{0xaa}, 300), false)
	clientWire, _ = c.AppendClose(clientWire, CloseNormal, "bye")
	serverWire := from(Client, txt("hi"), frag(OpBinary, "a"), ctl(OpPong, nil), cont("b", true), ctl(OpClose, []byte("\x03\xe9x")))
	huge := binary.BigEndian.AppendUint64([]byte{0x82, 0xff}, 1<<62)
	f.Add(clientWire, []byte{0, 1, 2, 3, 4, 5, 6, 7}, byte(1))
	f.Add(clientWire, []byte{}, byte(3))
	f.Add(serverWire, []byte{3, 3, 3}, byte(0))
	f.Add(serverWire, []byte{0}, byte(6))
	f.Add(append(huge, 1, 2, 3, 4), []byte{5}, byte(1))
	f.Add(append(huge, 1, 2, 3, 4), []byte{}, byte(7))
	f.Add(from(Server, fr{op: OpText, fin: true, rsv: RSV1, payload: []byte("compressed?")}), []byte{1}, byte(5))
	f.Add(from(Server, txt("abc\xff"), ctl(OpPing, nil)), []byte{2, 2}, byte(1))
	f.Add(from(Client, frag(OpText, "\xe2"), cont("\x82\xac", true)), []byte{0, 0, 0}, byte(0))
	f.Add([]byte{0x88, 0x01, 0x03}, []byte{}, byte(0))
	f.Add([]byte{0x81, 126, 0, 5, 'a'}, []byte{}, byte(0))
	// Send scripts (see fuzzSend): a text message in three fragments
	// splitting "€", one refused fragment, an abandoned message, pings
	// of 125 and 126 bytes, a close.
	f.Add([]byte("\x00\x01\xe2\x02\x01\x82\x12\x02\xac!\x01\x00\x02\x01\xff\x07\x00\x80\x00\x81\x00\x05\x02\x03\xe8"), []byte{}, byte(1))
	f.Add([]byte("\x50\x02\xc3\xa9\x10\x01\xff\x16\x03\x03\xe8x\x04\x00"), []byte{}, byte(0))
	f.Fuzz(func(t *testing.T, b, splits []byte, sel byte) {
		fuzzSend(t, sel, b)
		whole := fuzzRun(t, sel, b, nil)
		split := fuzzRun(t, sel, b, splits)
		if whole != split {
			t.Fatalf("transcripts differ:\nwhole:\n%s\nsplit:\n%s", whole, split)
		}
	})
}

// TestFuzzProtocolSeeds makes sure the seeds exercise
// what they are meant to.
func TestFuzzProtocolSeeds(t *testing.T) {
	huge := binary.BigEndian.AppendUint64([]byte{0x82, 0xff}, 1<<62)
	tr := fuzzRun(t, 1, append(huge, 1, 2, 3, 4), []byte{5})
	if !strings.HasPrefix(tr, "fail 1009 ") {
		t.Fatalf("transcript %q", tr)
	}
	tr = fuzzRun(t, 7, append(huge, 1, 2, 3, 4), nil) // unlimited: streams, no allocation
	if tr != "" {
		t.Fatalf("transcript %q", tr)
	}
	if tr := fuzzRun(t, 0, []byte{0x81, 0x01, 'x'}, nil); tr != "TEXT \"x\"\n" {
		t.Fatalf("transcript %q", tr)
	}
}
