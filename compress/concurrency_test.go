package compress

import (
	"bytes"
	"fmt"
	"sync"
	"testing"

	"github.com/tetherws/tether/ws"
)

// roundTrip compresses m with enc and inflates it with dec.
func roundTrip(enc, dec *Deflate, m []byte) error {
	f := ws.Frame{Opcode: ws.OpText, Fin: true, Payload: m}
	if err := enc.Encode(&f); err != nil {
		return err
	}
	if f.Rsv != 0 {
		if err := dec.Decode(&f, -1); err != nil {
			return err
		}
	}
	if !bytes.Equal(f.Payload, m) {
		return fmt.Errorf("%d-byte message differs", len(m))
	}
	return nil
}

// The two directions of one extension run on different goroutines, as a
// runtime's reader and writer do.
func TestDirectionsRunConcurrently(t *testing.T) {
	ce, se := handshake(t, Options{}, Options{})
	defer ce.Close()
	defer se.Close()
	msgs := windowCorpus()
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for _, dir := range [][2]*Deflate{{ce, se}, {se, ce}} {
		wg.Go(func() {
			for range 3 {
				for _, m := range msgs {
					if err := roundTrip(dir[0], dir[1], m); err != nil {
						errs <- err
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// Many connections on many goroutines share the pools: compressors are
// taken back, stolen and reloaded without mixing histories.
func TestConnectionsSharePools(t *testing.T) {
	msgs := windowCorpus()
	type pair struct{ enc, dec *Deflate }
	var pairs []pair
	for i := range 16 {
		o := []Options{Default, BestRatio, SmallMemory, {Level: 1, ServerMaxWindowBits: 15}}[i%4]
		ce, se := handshake(t, o, o)
		defer ce.Close()
		defer se.Close()
		pairs = append(pairs, pair{se, ce})
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(pairs))
	for g := range 4 {
		wg.Go(func() {
			// Each goroutine interleaves four connections.
			for round := range 2 {
				for i, m := range msgs {
					p := pairs[g*4+(i+round)%4]
					if err := roundTrip(p.enc, p.dec, m); err != nil {
						errs <- err
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// A connection sending message after message takes its compressor back
// instead of reloading its history (15-bit windows: window encoders are
// kept differently, see TestBusyConnectionsKeepEncodersWithinBudget).
func TestCompressorIsTakenBack(t *testing.T) {
	ce, se := handshake(t, BestRatio, BestRatio)
	defer ce.Close()
	defer se.Close()
	var msgs [][]byte
	for _, m := range testCorpus(40) {
		if len(m) >= smallMax { // shorter ones use the built-in encoder
			msgs = append(msgs, m)
		}
	}
	var last *deflater
	taken := 0
	for i, m := range msgs {
		if err := roundTrip(se, ce, m); err != nil {
			t.Fatal(err)
		}
		w := se.sPark.w.Value()
		if w == nil && i > 0 { // the first message has no history to keep
			t.Fatalf("message %d: no ticket", i)
		}
		if w == last {
			taken++
		}
		last = w
	}
	if taken < len(msgs)-2 {
		t.Errorf("compressor taken back for %d of %d messages", taken, len(msgs))
	}
}
