package conformance

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tetherws/tether/test/conformance/wire"
)

// The suite checks itself against a small reference endpoint built on
// package wire: the strict reference must pass every case on both sides
// (including permessage-deflate, which tether does not negotiate yet), and
// each deliberately broken variant must fail the cases that pin the rule
// it breaks. A suite that passes everything proves nothing otherwise.

// refOpts break one rule each.
type refOpts struct {
	noUTF8            bool // never validate text
	lateUTF8          bool // validate text only once the message is complete
	allowRSV          bool // ignore reserved bits
	echo1000          bool // answer every close with 1000, accept any code
	clientClosesFirst bool // as a client, close TCP right after the close frames
	serverKeepsTCP    bool // as a server, wait for the client to close TCP
	ignoreWindow      bool // compress with a 32 KiB window whatever was agreed
	ignoreNoTakeover  bool // keep the compression context whatever was agreed
	firstPongOnly     bool // answer the first ping of the connection only
	// lateEcho parses on before it answers a message: when more input
	// is already buffered, the echo waits until the next frame has been
	// judged, and is lost when that frame fails or closes the connection
	// (the bug a peer that waits for each echo cannot see).
	lateEcho bool
}

type refConn struct {
	nc     net.Conn
	br     *bufio.Reader
	client bool
	o      refOpts
	pmd    *wire.PMD
	defl   *wire.Deflater
	infl   *wire.Inflater
	pinged bool // a ping was answered
}

func newRefConn(nc net.Conn, br *bufio.Reader, client bool, pmd *wire.PMD, o refOpts) *refConn {
	c := &refConn{nc: nc, br: br, client: client, o: o, pmd: pmd}
	if pmd != nil {
		own, ownNCT := pmd.ServerBits(), pmd.ServerNoContextTakeover
		peer, peerNCT := pmd.ClientBits(), pmd.ClientNoContextTakeover
		if client {
			own, ownNCT, peer, peerNCT = peer, peerNCT, own, ownNCT
		}
		if o.ignoreWindow {
			own = 15
		}
		if o.ignoreNoTakeover {
			ownNCT = false
		}
		c.defl = &wire.Deflater{WindowBits: own, NoContextTakeover: ownNCT}
		c.infl = &wire.Inflater{WindowBits: peer, NoContextTakeover: peerNCT}
	}
	return c
}

func (c *refConn) send(f wire.Frame) {
	_ = c.nc.SetWriteDeadline(time.Now().Add(raceScaled(10 * time.Second)))
	_, _ = c.nc.Write(wire.Append(nil, f, c.client))
}

// closeTCP ends the connection once close frames were exchanged: the
// server closes first, the client after the server.
func (c *refConn) closeTCP() {
	if c.client && c.o.clientClosesFirst {
		return
	}
	if !c.client && !c.o.serverKeepsTCP {
		_ = c.nc.(*net.TCPConn).CloseWrite()
	}
	_ = c.nc.SetReadDeadline(time.Now().Add(raceScaled(5 * time.Second)))
	_, _ = io.Copy(io.Discard, c.br)
}

func (c *refConn) fail(code int) {
	c.send(F(wire.OpClose, wire.ClosePayload(code, "")))
	c.closeTCP()
}

func validCode(code int) bool {
	return code >= 1000 && code <= 1003 || code >= 1007 && code <= 1014 || code >= 3000 && code <= 4999
}

// utf8Progress validates msg from the code point boundary from and
// returns the new boundary, or -1 at an invalid byte.
func utf8Progress(msg []byte, from int) int {
	pos := utf8FailPos(msg[from:])
	switch {
	case pos < 0:
		return len(msg)
	case pos < len(msg)-from:
		return -1
	}
	i := len(msg) - 1
	for i > from && msg[i]&0xc0 == 0x80 {
		i--
	}
	return i
}

func (c *refConn) serve() {
	defer c.nc.Close()
	var (
		msgOp      byte
		msg        []byte
		compressed bool
		valid      int
		buf        = make([]byte, 32<<10)
		owed       *wire.Frame // an echo held back by lateEcho
	)
	for {
		_ = c.nc.SetReadDeadline(time.Now().Add(30 * time.Second))
		var h [2]byte
		if _, err := io.ReadFull(c.br, h[:]); err != nil {
			return
		}
		fin, rsv, op, masked := h[0]&0x80 != 0, h[0]>>4&7, h[0]&0xf, h[1]&0x80 != 0
		n := uint64(h[1] & 0x7f)
		switch n {
		case 126:
			var b [2]byte
			if _, err := io.ReadFull(c.br, b[:]); err != nil {
				return
			}
			if n = uint64(binary.BigEndian.Uint16(b[:])); n < 126 {
				c.fail(1002)
				return
			}
		case 127:
			var b [8]byte
			if _, err := io.ReadFull(c.br, b[:]); err != nil {
				return
			}
			if n = binary.BigEndian.Uint64(b[:]); n>>63 != 0 || n < 1<<16 {
				c.fail(1002)
				return
			}
		}
		var key [4]byte
		if masked {
			if _, err := io.ReadFull(c.br, key[:]); err != nil {
				return
			}
		}
		control := op >= 8
		bad := masked == c.client ||
			!slices.Contains([]byte{0, 1, 2, 8, 9, 10}, op) ||
			control && (n > 125 || !fin || rsv != 0 && !c.o.allowRSV) ||
			!control && (op == 0) == (msgOp == 0)
		if !bad && !control {
			if op != 0 {
				compressed = rsv == wire.RSV1 && c.pmd != nil
				bad = rsv != 0 && !compressed && !c.o.allowRSV
			} else {
				bad = rsv != 0 && !c.o.allowRSV
			}
		}
		if bad {
			c.fail(1002)
			return
		}
		if owed != nil && op != wire.OpClose {
			c.send(*owed)
			owed = nil
		}
		if control {
			p := make([]byte, n)
			if _, err := io.ReadFull(c.br, p); err != nil {
				return
			}
			wire.Mask(key, 0, p)
			switch op {
			case wire.OpPing:
				if !c.o.firstPongOnly || !c.pinged {
					c.send(F(wire.OpPong, p))
				}
				c.pinged = true
			case wire.OpClose:
				code, reason, err := wire.ParseClose(p)
				switch {
				case err != nil:
					c.fail(1002)
				case c.o.echo1000:
					c.send(F(wire.OpClose, wire.ClosePayload(1000, "")))
					c.closeTCP()
				case len(p) > 0 && !validCode(code):
					c.fail(1002)
				case utf8FailPos([]byte(reason)) >= 0:
					c.fail(1007)
				default:
					c.send(F(wire.OpClose, p))
					c.closeTCP()
				}
				return
			}
			continue
		}
		if op != 0 {
			msgOp, msg, valid = op, msg[:0], 0
		}
		for pos := 0; uint64(pos) < n; {
			m, err := c.br.Read(buf[:min(n-uint64(pos), uint64(len(buf)))])
			if err != nil {
				return
			}
			wire.Mask(key, pos, buf[:m])
			pos += m
			msg = append(msg, buf[:m]...)
			if msgOp == wire.OpText && !compressed && !c.o.noUTF8 && !c.o.lateUTF8 {
				if valid = utf8Progress(msg, valid); valid < 0 {
					c.fail(1007)
					return
				}
			}
		}
		if !fin {
			continue
		}
		data := msg
		if compressed {
			var err error
			if data, err = c.infl.Decompress(msg, 32<<20); err != nil {
				c.fail(1002)
				return
			}
		}
		if msgOp == wire.OpText && !c.o.noUTF8 && utf8FailPos(data) >= 0 {
			c.fail(1007)
			return
		}
		f := F(msgOp, data)
		if c.pmd != nil {
			f.Rsv, f.Payload = wire.RSV1, c.defl.Compress(data)
		}
		msgOp = 0
		if c.o.lateEcho && c.br.Buffered() > 0 {
			owed = &f
			continue
		}
		c.send(f)
	}
}

// refAnswer accepts the first permessage-deflate offer as it stands.
func refAnswer(h http.Header) (*wire.PMD, string) {
	offers, _ := wire.ParseExtensions(h)
	for _, o := range offers {
		if !strings.EqualFold(o.Name, wire.PMDName) {
			continue
		}
		info, err := wire.ParseOffer(o)
		if err != nil {
			continue
		}
		resp := info.PMD
		answer := resp.String()
		r, _ := wire.ParseExtensions(http.Header{"Sec-Websocket-Extensions": {answer}})
		pmd, err := wire.CheckResponse(info, r[0])
		if err != nil {
			panic(err)
		}
		return &pmd, answer
	}
	return nil, ""
}

// startRefServer serves the reference on 127.0.0.1:0.
func startRefServer(t *testing.T, o refOpts) *ServerTarget {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				br, req, err := wire.ServerHandshake(nc)
				if err != nil {
					nc.Close()
					return
				}
				pmd, answer := refAnswer(req.Header)
				if err := wire.Respond(nc, req, answer); err != nil {
					nc.Close()
					return
				}
				newRefConn(nc, br, false, pmd, o).serve()
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	return &ServerTarget{addr: ln.Addr().String(), Deflate: true}
}

// refClient starts the reference as the client under test.
func refClient(o refOpts) StartClient {
	return func(url string) *ClientRun {
		r := &ClientRun{Dialed: make(chan error, 1), Done: make(chan struct{})}
		var mu sync.Mutex
		var conn net.Conn
		r.Abort = func() {
			mu.Lock()
			defer mu.Unlock()
			if conn != nil {
				conn.Close()
			}
		}
		go func() {
			defer close(r.Done)
			addr := strings.TrimSuffix(strings.TrimPrefix(url, "ws://"), "/")
			nc, err := net.Dial("tcp", addr)
			if err != nil {
				r.Dialed <- err
				return
			}
			mu.Lock()
			conn = nc
			mu.Unlock()
			offer := "permessage-deflate; client_max_window_bits"
			br, h, err := wire.ClientHandshake(nc, addr, "/", offer)
			if err != nil {
				nc.Close()
				r.Dialed <- err
				return
			}
			var pmd *wire.PMD
			if exts, _ := wire.ParseExtensions(h); len(exts) > 0 {
				o, _ := wire.ParseExtensions(http.Header{"Sec-Websocket-Extensions": {offer}})
				info, _ := wire.ParseOffer(o[0])
				p, err := wire.CheckResponse(info, exts[0])
				if err != nil {
					nc.Close()
					r.Dialed <- err
					return
				}
				pmd = &p
			}
			r.Dialed <- nil
			newRefConn(nc, br, true, pmd, o).serve()
		}()
		return r
	}
}

func refConfig() *Config {
	// The reference closes at once when it closes too early: a short
	// grace is enough.
	return &Config{Timeout: 5 * time.Second, FailFastWait: time.Second, ClientGrace: 2 * time.Millisecond}
}

// The strict reference passes every case on both sides (the 9.x
// benchmarks aside, which add nothing here).
func TestSuiteAgainstStrictReference(t *testing.T) {
	if testing.Short() {
		t.Skip("self-test of the suite")
	}
	cfg := refConfig()
	srv := startRefServer(t, refOpts{})
	// Every case but the 9.x benchmarks, and of the 90 12.x cases the
	// smallest, the largest and the fragmented ones at both ends: the
	// others only change sizes, and deflate is slow under -race.
	notBench := func(c *Case) bool {
		if c.Category() == "12" {
			n := c.ID[strings.LastIndex(c.ID, ".")+1:]
			return n == "1" || n == "10" || n == "11" || n == "18"
		}
		return !c.Bench
	}
	t.Run("server", func(t *testing.T) {
		runCases(t, cfg, ServerSide, notBench, func(c *Case) Result { return srv.RunServer(c, cfg) })
	})
	t.Run("client", func(t *testing.T) {
		runCases(t, cfg, ClientSide, notBench, func(c *Case) Result { return RunClientWith(c, cfg, refClient(refOpts{})) })
	})
}

// Each broken reference fails the cases that pin the rule it breaks, and
// still passes a case that does not involve it.
func TestSuiteCatchesBrokenReferences(t *testing.T) {
	if testing.Short() {
		t.Skip("self-test of the suite")
	}
	cfg := refConfig()
	cfg.FailFastWait = 300 * time.Millisecond
	byID := map[string]*Case{}
	for _, c := range Cases(cfg) {
		byID[c.ID] = c
	}
	for _, tc := range []struct {
		name     string
		o        refOpts
		sides    []Side
		mustFail []string
		mustPass []string
	}{
		{"no UTF-8 validation", refOpts{noUTF8: true}, nil, []string{"6.3.1", "6.12.1", "6.20.1-frag", "6.14.6"}, []string{"6.5.1", "1.1.1"}},
		{"UTF-8 validated at the end only", refOpts{lateUTF8: true}, nil, []string{"6.4.1", "6.4.3", "6.3.2", "6.12.8-chop", "6.3.3.15"}, []string{"6.3.1", "6.12.1", "6.14.1-frag"}},
		{"reserved bits ignored", refOpts{allowRSV: true}, nil, []string{"3.1", "3.5", "3.6"}, []string{"2.1"}},
		{"close answered with 1000", refOpts{echo1000: true}, nil, []string{"7.7.2", "7.9.1", "7.5.1", "7.13.1"}, []string{"7.7.1", "7.3.1"}},
		{"client closes TCP first", refOpts{clientClosesFirst: true}, []Side{ClientSide}, []string{"1.1.1", "7.3.3", "3.1"}, nil},
		{"server leaves TCP open", refOpts{serverKeepsTCP: true}, []Side{ServerSide}, []string{"1.1.1", "7.3.3", "3.1"}, nil},
		{"compression window ignored", refOpts{ignoreWindow: true}, nil, []string{"13.3.1", "13.4.1", "13.8.1"}, []string{"13.1", "13.3.7"}},
		{"context takeover kept", refOpts{ignoreNoTakeover: true}, nil, []string{"13.2", "13.4.7"}, []string{"13.1", "13.3.7"}},
		{"only the first ping answered", refOpts{firstPongOnly: true}, nil, []string{"2.10", "2.11"}, []string{"2.1", "2.6"}},
		// The frames after the message arrive with it only when they are
		// sent in one write: the other ways race.
		{"echo lost when a violation follows", refOpts{lateEcho: true}, nil, []string{"3.2", "4.1.3", "4.2.4", "5.15", "7.1.1"}, []string{"1.1.1", "5.6", "2.9"}},
	} {
		for _, id := range append(slices.Clone(tc.mustFail), tc.mustPass...) {
			if byID[id] == nil {
				t.Fatalf("%s: no case %s", tc.name, id)
			}
		}
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := startRefServer(t, tc.o)
			cfg := *cfg
			if tc.o.serverKeepsTCP || tc.o.firstPongOnly {
				cfg.Timeout = 500 * time.Millisecond // the failure is a timeout
			}
			sides := tc.sides
			if sides == nil {
				sides = []Side{ServerSide, ClientSide}
			}
			// The cases run at once: a must-fail case often fails by
			// waiting out a timeout.
			var wg sync.WaitGroup
			for _, side := range sides {
				for _, id := range append(slices.Clone(tc.mustFail), tc.mustPass...) {
					c := byID[id]
					wg.Go(func() {
						var r Result
						if side == ServerSide {
							r = srv.RunServer(c, &cfg)
						} else {
							r = RunClientWith(c, &cfg, refClient(tc.o))
						}
						want := OK
						if slices.Contains(tc.mustFail, id) {
							want = Failed
						}
						if r.Status != want {
							t.Errorf("%s %s: %s (%s), want %s", side, id, r.Status, r.Reason, want)
						}
					})
				}
			}
			wg.Wait()
		})
	}
}
