package keepalive_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/tetherws/tether/internal/fakeclock"
	"github.com/tetherws/tether/runtime"
	"github.com/tetherws/tether/ws"
)

// These tests drive the policy through runtime.Conn against a raw peer
// that answers the opening handshake and then reads frames itself, so
// that it can leave pings unanswered.

type rawPeer struct {
	nc net.Conn
	br *bufio.Reader
}

// dialRawPeer dials a one-shot raw server with o and returns both ends.
func dialRawPeer(t *testing.T, o runtime.Options) (*runtime.Conn, *rawPeer) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	peerc := make(chan *rawPeer, 1)
	go func() {
		defer close(peerc)
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		br := bufio.NewReader(nc)
		req, err := http.ReadRequest(br)
		if err != nil {
			nc.Close()
			return
		}
		resp := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Accept: " + ws.AcceptKey(req.Header.Get("Sec-WebSocket-Key")) + "\r\n\r\n"
		if _, err := io.WriteString(nc, resp); err != nil {
			nc.Close()
			return
		}
		peerc <- &rawPeer{nc, br}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := runtime.Dial(ctx, "ws://"+ln.Addr().String()+"/", &runtime.DialOptions{Options: o})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	p := <-peerc
	if p == nil {
		t.Fatal("raw peer failed")
	}
	t.Cleanup(func() {
		p.nc.Close()
		c.CloseNow()
	})
	return c, p
}

// readFrame reads one client (masked) frame and returns its opcode and
// unmasked payload.
func (p *rawPeer) readFrame(t *testing.T) (ws.Opcode, []byte) {
	t.Helper()
	_ = p.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	var h [2]byte
	if _, err := io.ReadFull(p.br, h[:]); err != nil {
		t.Fatalf("read frame: %v", err)
	}
	n := int(h[1] & 0x7f)
	if n == 126 {
		var ext [2]byte
		if _, err := io.ReadFull(p.br, ext[:]); err != nil {
			t.Fatal(err)
		}
		n = int(binary.BigEndian.Uint16(ext[:]))
	}
	if h[1]&0x80 == 0 {
		t.Fatal("client frame not masked")
	}
	var mask [4]byte
	if _, err := io.ReadFull(p.br, mask[:]); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(p.br, b); err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] ^= mask[i%4]
	}
	return ws.Opcode(h[0] & 0x0f), b
}

// writeFrame writes an unmasked server frame with a short payload.
func (p *rawPeer) writeFrame(t *testing.T, op ws.Opcode, payload []byte) {
	t.Helper()
	if _, err := p.nc.Write(append([]byte{0x80 | byte(op), byte(len(payload))}, payload...)); err != nil {
		t.Fatal(err)
	}
}

func TestRuntimeFailsWith1011WhenThePongIsLate(t *testing.T) {
	clk := fakeclock.New(epoch)
	c, peer := dialRawPeer(t, runtime.Options{PingInterval: 20 * time.Second, PingTimeout: 20 * time.Second, KeepaliveClock: clk})
	wantTimer(t, clk, 20*time.Second)
	clk.Advance(20 * time.Second)
	if op, payload := peer.readFrame(t); op != ws.OpPing || len(payload) != 4 {
		t.Fatalf("got %v with %d bytes, want a ping with a 4-byte payload", op, len(payload))
	}
	wantTimer(t, clk, 20*time.Second)
	clk.Advance(20 * time.Second)
	op, payload := peer.readFrame(t)
	if op != ws.OpClose || len(payload) < 2 {
		t.Fatalf("got %v %q, want a close frame", op, payload)
	}
	if code, reason := binary.BigEndian.Uint16(payload), string(payload[2:]); code != 1011 || reason != "keepalive ping timeout" {
		t.Fatalf("close frame %d %q, want 1011 \"keepalive ping timeout\"", code, reason)
	}
	peer.nc.Close()
	<-c.Done()
	st := c.CloseStatus()
	if st.Sent == nil || st.Sent.Code != ws.CloseInternalError || c.Err() == nil {
		t.Fatalf("close status %v, Err %v", st, c.Err())
	}
}

func TestRuntimePingsWithFreshPayloadsAndRecordsLatency(t *testing.T) {
	clk := fakeclock.New(epoch)
	c, peer := dialRawPeer(t, runtime.Options{PingInterval: 20 * time.Second, PingTimeout: 20 * time.Second, KeepaliveClock: clk})
	seen := map[string]bool{}
	wantTimer(t, clk, 20*time.Second)
	clk.Advance(20 * time.Second)
	for i := range 3 {
		op, payload := peer.readFrame(t)
		if op != ws.OpPing || len(payload) != 4 || seen[string(payload)] {
			t.Fatalf("ping %d: %v %x (seen %v)", i, op, payload, seen)
		}
		seen[string(payload)] = true
		wantTimer(t, clk, 20*time.Second) // the pong timeout
		peer.writeFrame(t, ws.OpPong, payload)
		// The next sleep is the interval minus the latency the runtime
		// measured for this pong.
		d := clk.NextTimer(t)
		if d <= 0 || d >= 20*time.Second || c.Latency() != 20*time.Second-d {
			t.Fatalf("next sleep %v with latency %v", d, c.Latency())
		}
		clk.Advance(d)
	}
}

func TestRuntimeHeartbeatSendsUnsolicitedPongs(t *testing.T) {
	clk := fakeclock.New(epoch)
	_, peer := dialRawPeer(t, runtime.Options{PingInterval: 5 * time.Second, Heartbeat: true, KeepaliveClock: clk})
	for range 3 {
		wantTimer(t, clk, 5*time.Second)
		clk.Advance(5 * time.Second)
		if op, _ := peer.readFrame(t); op != ws.OpPong {
			t.Fatalf("got %v, want an unsolicited pong", op)
		}
	}
}
