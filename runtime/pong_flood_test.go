package runtime

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/tetherws/tether/ws"
)

// A peer that floods pings and never reads holds at most maxQueuedPongs
// pongs in the server's queue: past it, each ping's pong replaces the last
// one waiting.
func TestPingFloodFromAPeerThatNeverReadsKeepsAFewPongs(t *testing.T) {
	sc, p := acceptRaw(t, &ServerOptions{Options: Options{PingInterval: -1}})
	defer p.close()
	const pings = 100_000
	payload := bytes.Repeat([]byte("p"), 125)
	var batch []byte
	for i := range pings {
		batch = appendFrame(batch, true, ws.OpPing, payload, true)
		if len(batch) > 1<<20 || i == pings-1 {
			p.write(batch)
			batch = batch[:0]
		}
	}
	p.send(true, ws.OpText, []byte("after the pings"))
	// The message comes after every ping: all of them have been parsed.
	if m := recv(t, sc); m.Text() != "after the pings" {
		t.Fatalf("got %q", m.Data)
	}
	sc.mu.Lock()
	queued, ctrl := sc.queued, len(sc.ctrlQ)
	pongs := 0
	for _, f := range sc.ctrlQ {
		if f.pong {
			pongs++
		}
	}
	sc.mu.Unlock()
	// The pongs allowed in the queue, and those the writer took before
	// the socket filled (still counted as queued until written).
	if pongs > maxQueuedPongs || ctrl > maxQueuedPongs+1 || queued > 2*(maxQueuedPongs+1)*(125+2) {
		t.Fatalf("after %d pings: %d bytes queued, %d control frames (%d pongs)", pings, queued, ctrl, pongs)
	}
	sc.CloseNow()
}

// Every pong answers a ping that was sent, in order, and the last ping is
// always answered; a few pings back to back each get their pong.
func TestPongsAnswerTheMostRecentPing(t *testing.T) {
	sc, p := acceptRaw(t, &ServerOptions{Options: Options{PingInterval: -1}})
	defer sc.CloseNow()
	var batch []byte
	for i := range 50 {
		batch = appendFrame(batch, true, ws.OpPing, fmt.Appendf(nil, "%02d", i), true)
	}
	p.write(batch) // back to back, in one write
	last := -1
	for last < 49 {
		f := p.expect(ws.OpPong)
		var n int
		if _, err := fmt.Sscanf(string(f.Payload), "%02d", &n); err != nil || n <= last {
			t.Fatalf("pong %q after pong %d", f.Payload, last)
		}
		last = n
	}
}

// Up to maxQueuedPongs pings sent back to back get one pong each, in
// order, even when the peer reads only after sending them all.
func TestFewPingsBackToBackEachGetTheirPong(t *testing.T) {
	sc, p := acceptRaw(t, &ServerOptions{Options: Options{PingInterval: -1}})
	defer sc.CloseNow()
	var batch []byte
	for i := range maxQueuedPongs {
		batch = appendFrame(batch, true, ws.OpPing, fmt.Appendf(nil, "%02d", i), true)
	}
	p.write(batch)
	for i := range maxQueuedPongs {
		if f := p.expect(ws.OpPong); string(f.Payload) != fmt.Sprintf("%02d", i) {
			t.Fatalf("pong %d: %q", i, f.Payload)
		}
	}
}
