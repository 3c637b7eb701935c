package compress

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/tetherws/tether/ws"
)

// 500 realistic JSON messages each way with context takeover, through
// ws.Protocol, compress well and arrive intact.
func TestLongRunWithContextTakeover(t *testing.T) {
	c := newConn(t, Options{}, Options{}, ws.Config{})
	msgs := testCorpus(500)
	plain := 0
	for _, m := range msgs {
		plain += len(m)
	}
	up := transfer(t, c.c, c.s, msgs, 0)
	down := transfer(t, c.s, c.c, msgs, 0)
	t.Logf("plain %d bytes; wire client→server %d (%.1f%%), server→client %d (%.1f%%)",
		plain, up, 100*float64(up)/float64(plain), down, 100*float64(down)/float64(plain))
	if down > plain/2 {
		t.Errorf("server→client wire %d bytes for %d plain: compression is not working", down, plain)
	}
}

func TestFragmentedMessages(t *testing.T) {
	msgs := windowCorpus()
	for _, frag := range []int{1, 7, 100, 1000, 5000} {
		for _, noTakeover := range []bool{false, true} {
			t.Run(fmt.Sprintf("frag=%d/noTakeover=%v", frag, noTakeover), func(t *testing.T) {
				o := Options{ServerNoContextTakeover: noTakeover, ClientNoContextTakeover: noTakeover}
				c := newConn(t, o, Options{}, ws.Config{MaxMessageSize: -1})
				sel := msgs
				if frag < 100 {
					sel = msgs[:10]
				}
				for i, m := range sel {
					f := frag
					if i%3 == 2 {
						f = 0 // interleave unfragmented messages
					}
					transfer(t, c.c, c.s, [][]byte{m}, f)
					transfer(t, c.s, c.c, [][]byte{m}, f)
				}
			})
		}
	}
}

// Every window from 8 to 15 bits, each way, with and without takeover.
func TestEveryWindow(t *testing.T) {
	msgs := windowCorpus()
	for bits := 8; bits <= 15; bits++ {
		for _, noTakeover := range []bool{false, true} {
			t.Run(fmt.Sprintf("bits=%d/noTakeover=%v", bits, noTakeover), func(t *testing.T) {
				so := Options{ServerMaxWindowBits: bits, ClientMaxWindowBits: 23 - bits,
					ServerNoContextTakeover: noTakeover, ClientNoContextTakeover: noTakeover}
				c := newConn(t, Options{}, so, ws.Config{MaxMessageSize: -1})
				if a := c.cext.Agreement(); a.RemoteMaxWindowBits != bits || a.LocalMaxWindowBits != 23-bits {
					t.Fatalf("agreement %+v", a)
				}
				transfer(t, c.c, c.s, msgs, 0)
				transfer(t, c.s, c.c, msgs, 0)
				transfer(t, c.c, c.s, msgs[len(msgs)-6:], 700)
				transfer(t, c.s, c.c, msgs[len(msgs)-6:], 700)
			})
		}
	}
}

func TestEveryLevel(t *testing.T) {
	msgs := windowCorpus()
	for _, level := range []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, HuffmanOnly} {
		t.Run(fmt.Sprint(level), func(t *testing.T) {
			o := Options{Level: level}
			c := newConn(t, o, o, ws.Config{MaxMessageSize: -1})
			transfer(t, c.c, c.s, msgs, 0)
			transfer(t, c.s, c.c, msgs, 0)
		})
	}
}

// Without context takeover in one direction, the same message compresses
// to the same bytes every time, and no history is kept for it; with
// takeover, the repeat is much smaller.
func TestNoContextTakeoverEachWay(t *testing.T) {
	msg := testCorpus(4)[3]
	sizes := func(from, to *ws.Protocol) []int {
		var out []int
		for range 3 {
			wire := sendMessage(t, from, nil, ws.OpText, msg, 0, false)
			out = append(out, len(wire))
			if got, err := receive(t, to, wire); err != nil || !bytes.Equal(got[0], msg) {
				t.Fatalf("err %v", err)
			}
		}
		return out
	}
	for _, tt := range []struct {
		name           string
		so             Options
		upSame, dnSame bool
	}{
		{"takeover both ways", Options{}, false, false},
		{"client no takeover", Options{ClientNoContextTakeover: true}, true, false},
		{"server no takeover", Options{ServerNoContextTakeover: true}, false, true},
		{"neither", Options{ClientNoContextTakeover: true, ServerNoContextTakeover: true}, true, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := newConn(t, Options{}, tt.so, ws.Config{})
			up, dn := sizes(c.c, c.s), sizes(c.s, c.c)
			for _, x := range []struct {
				name  string
				sizes []int
				same  bool
				hist  *[]byte
			}{
				{"client→server", up, tt.upSame, c.cext.sHist},
				{"server→client", dn, tt.dnSame, c.sext.sHist},
			} {
				same := x.sizes[0] == x.sizes[1] && x.sizes[1] == x.sizes[2]
				if same != x.same || !same && x.sizes[1] > x.sizes[0]/2 {
					t.Errorf("%s: sizes %v", x.name, x.sizes)
				}
				if (x.hist == nil) != x.same {
					t.Errorf("%s: send history kept = %v", x.name, x.hist != nil)
				}
			}
			if (c.sext.rHist == nil) != tt.upSame || (c.cext.rHist == nil) != tt.dnSame {
				t.Errorf("receive histories: server %v client %v", c.sext.rHist != nil, c.cext.rHist != nil)
			}
		})
	}
}

// Messages under the threshold, and messages sent with NoCompress, go out
// as they are, without RSV1; they do not disturb the history.
func TestThresholdAndNoCompress(t *testing.T) {
	const threshold = 150
	c := newConn(t, Options{Threshold: threshold}, Options{Threshold: threshold}, ws.Config{})
	msgs := testCorpus(200)
	for i, m := range msgs {
		noCompress := i%7 == 0
		for _, dir := range []struct{ from, to *ws.Protocol }{{c.c, c.s}, {c.s, c.c}} {
			wire := sendMessage(t, dir.from, nil, ws.OpText, m, 0, noCompress)
			fr := parseFrames(t, wire)
			compressed := !noCompress && len(m) >= threshold
			if got := fr[0].h.Rsv == ws.RSV1; got != compressed {
				t.Fatalf("message %d (%d bytes, noCompress %v): RSV1 %v", i, len(m), noCompress, got)
			}
			if !compressed && !bytes.Equal(fr[0].payload, m) {
				t.Fatalf("message %d: uncompressed payload differs", i)
			}
			got, err := receive(t, dir.to, wire)
			if err != nil || len(got) != 1 || !bytes.Equal(got[0], m) {
				t.Fatalf("message %d: %v", i, err)
			}
		}
	}
	// NoCompress on a fragmented message covers all its frames.
	m := msgs[5]
	wire := sendMessage(t, c.s, nil, ws.OpText, m, 10, true)
	for _, f := range parseFrames(t, wire) {
		if f.h.Rsv != 0 {
			t.Fatal("RSV1 on a NoCompress fragment")
		}
	}
	if got, err := receive(t, c.c, wire); err != nil || !bytes.Equal(got[0], m) {
		t.Fatal(err)
	}
}

// Empty messages, alone and as the end of a fragmented message.
func TestEmptyMessages(t *testing.T) {
	c := newConn(t, Options{}, Options{}, ws.Config{})
	transfer(t, c.c, c.s, [][]byte{{}, []byte("x"), {}}, 0)
	transfer(t, c.s, c.c, [][]byte{{}, []byte("x"), {}}, 0)
	// A fragmented message whose last frame is empty.
	wire, _ := c.s.AppendData(nil, ws.OpText, false, []byte("hello"), false)
	wire, _ = c.s.AppendData(wire, ws.OpContinuation, false, nil, false)
	wire, _ = c.s.AppendData(wire, ws.OpContinuation, true, nil, false)
	got, err := receive(t, c.c, wire)
	if err != nil || string(got[0]) != "hello" {
		t.Fatalf("%q %v", got, err)
	}
	// zlib sends an empty final frame after a flushed one: accept it, and
	// keep the history right for the next message.
	c2 := newConn(t, Options{}, Options{}, ws.Config{})
	peer := newStdPeer(t, 15, false)
	var d []byte
	d = appendFrame(d, ws.OpText, false, ws.RSV1, peer.frame([]byte("hello hello"), false))
	d = appendFrame(d, ws.OpContinuation, true, 0, nil)
	// zlib adds nothing more: its stream is already flushed.
	d = appendFrame(d, ws.OpText, true, ws.RSV1, peer.frame([]byte("hello again"), true))
	got, err = receive(t, c2.c, d)
	if err != nil || len(got) != 2 || string(got[0]) != "hello hello" || string(got[1]) != "hello again" {
		t.Fatalf("%q %v", got, err)
	}
}
