package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetherws/tether/test/bench/internal/proto"
)

var (
	sourceList = flag.String("sources", "", "scale: local addresses to dial from, in turn (e.g. 127.0.0.2-127.0.0.9)")
	activeN    = flag.Int("active", 0, "scale: connections that send once the driver says \"active\"")
	period     = flag.Duration("period", time.Second, "scale: each active connection sends one message per period")
	loop       = flag.Bool("loop", false, "scale: active connections run closed loops (send, await the echo, send again) instead of one message per period")
)

// epoch is the origin of the send times (monotonic).
var epoch = time.Now()

// scaleConn is a connection of the scale scenario. Its reader goroutine
// reads every frame (answering pings), checks each echo against the last
// message sent and records its round trip; the sender (the scheduler, or
// the reader itself in a closed loop) sends only when no echo is due.
type scaleConn struct {
	c      *conn
	id     int
	active bool
	base   []byte // the message, but for its sequence number

	// Under c.wmu: the message being sent and its frame.
	plain, frame []byte

	seq    atomic.Uint64 // last sequence number sent
	acked  atomic.Uint64 // last one echoed
	sentAt atomic.Int64  // since epoch, of seq
	dead   atomic.Bool
}

// send sends the next message.
func (s *scaleConn) send() error {
	s.c.wmu.Lock()
	defer s.c.wmu.Unlock()
	seq := s.seq.Load() + 1
	proto.PutSeq(s.plain, seq)
	s.frame = s.c.appendFrame(s.frame[:0], 0x1, false, s.plain)
	s.seq.Store(seq)
	s.sentAt.Store(int64(time.Since(epoch)))
	_, err := s.c.nc.Write(s.frame)
	return err
}

// check reports whether got is the echo of message seq.
func (s *scaleConn) check(got []byte, seq uint64) bool {
	if len(got) != len(s.base) {
		return false
	}
	var want [16]byte
	k := min(16, len(got))
	copy(want[:k], s.base[:k])
	proto.PutSeq(want[:k], seq)
	return bytes.Equal(got[:k], want[:k]) && bytes.Equal(got[k:], s.base[k:])
}

// scaleClient is one client process of the scale scenario.
type scaleClient struct {
	conns []*scaleConn

	measure atomic.Bool
	closing atomic.Bool
	stopped atomic.Bool // no more sends
	msgs    atomic.Int64
	failed  atomic.Int64
	skipped atomic.Int64

	mu       sync.Mutex
	lats     []int64 // round trips in the window
	firstErr string
}

// fail records that connection s is lost.
func (sc *scaleClient) fail(s *scaleConn, err error) {
	if sc.closing.Load() || s.dead.Swap(true) {
		return
	}
	sc.failed.Add(1)
	_ = s.c.nc.Close()
	sc.mu.Lock()
	if sc.firstErr == "" {
		sc.firstErr = fmt.Sprintf("connection %d: %v", s.id, err)
	}
	sc.mu.Unlock()
}

// readLoop reads connection s until it fails or the client closes.
func (sc *scaleClient) readLoop(s *scaleConn) {
	for {
		got, err := s.c.read()
		if err != nil {
			sc.fail(s, err)
			return
		}
		seq := s.seq.Load()
		switch {
		case !s.active:
			sc.fail(s, errors.New("message on an idle connection"))
			return
		case s.acked.Load() == seq:
			sc.fail(s, errors.New("message with no echo due"))
			return
		case !s.check(got, seq):
			sc.fail(s, fmt.Errorf("echo of message %d differs (%d bytes, want %d)", seq, len(got), len(s.base)))
			return
		}
		rtt := int64(time.Since(epoch)) - s.sentAt.Load()
		s.acked.Store(seq)
		if sc.measure.Load() {
			sc.mu.Lock()
			if sc.measure.Load() {
				sc.lats = append(sc.lats, rtt)
				sc.msgs.Add(1)
			}
			sc.mu.Unlock()
		}
		if *loop && !sc.stopped.Load() && !sc.closing.Load() {
			if err := s.send(); err != nil {
				sc.fail(s, err)
				return
			}
		}
	}
}

// schedule sends one message per period on each active connection, the
// connections evenly spread over the period, until stop closes. A
// connection whose previous echo is still due skips its turn.
func (sc *scaleClient) schedule(active []*scaleConn, stop <-chan struct{}) {
	if len(active) == 0 {
		return
	}
	t0 := time.Now()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for k := 0; ; k++ {
		for j, s := range active {
			due := t0.Add(time.Duration(k)**period + *period*time.Duration(j)/time.Duration(len(active)))
			// Sleep only for a millisecond or more: the sends of one
			// millisecond go together.
			if d := time.Until(due); d >= time.Millisecond {
				timer.Reset(d)
				select {
				case <-stop:
					return
				case <-timer.C:
				}
			}
			if s.dead.Load() {
				continue
			}
			if s.acked.Load() != s.seq.Load() {
				sc.skipped.Add(1)
				continue
			}
			if err := s.send(); err != nil {
				sc.fail(s, err)
			}
		}
	}
}

// runScale is the client of the scale scenario. It opens -conns
// connections (one echo each, of -size bytes), prints an "opened" report
// and then follows the driver's commands on standard input: "active"
// starts the senders (-active connections, spread over the others),
// "mark" opens the measurement window, "end" closes it and prints the
// "result" report, "stop" stops the senders (the connections idle again),
// "quit" (or the end of the input) closes every connection and returns.
func runScale() error {
	if *sourceList != "" {
		var err error
		if sources, err = parseSources(*sourceList); err != nil {
			return err
		}
	}
	out := json.NewEncoder(os.Stdout)
	bufSize := max(1<<10, 2**size)
	sc := &scaleClient{}
	stop := make(chan struct{})
	var stopOnce sync.Once
	halt := func() { stopOnce.Do(func() { close(stop) }) }
	var readers, sched sync.WaitGroup
	all := make([]*scaleConn, *nconns)
	defer func() {
		sc.closing.Store(true)
		halt()
		sched.Wait()
		for _, s := range all {
			if s != nil {
				_ = s.c.nc.Close()
			}
		}
		readers.Wait()
	}()
	t0 := time.Now()
	n, na := *nconns, min(*activeN, *nconns)
	_, derr := dialMany(n, bufSize, func(i int, c *conn) error {
		s := &scaleConn{c: c, id: i, base: proto.Text(*size, uint64(i))}
		s.plain = append([]byte(nil), s.base...)
		_ = c.nc.SetDeadline(time.Now().Add(handshakeTimeout))
		defer func() { _ = c.nc.SetDeadline(time.Time{}) }()
		if err := s.send(); err != nil {
			return err
		}
		got, err := c.read()
		if err != nil {
			return err
		}
		if !s.check(got, 1) {
			return errors.New("first echo differs")
		}
		s.acked.Store(1)
		// Active: na of the n, evenly spread (where i*na/n steps).
		s.active = (i*na)/n != ((i+1)*na)/n
		all[i] = s
		// The connection is read from now on: pings are answered, and
		// a connection the server closes counts as failed.
		readers.Add(1)
		go func() {
			defer readers.Done()
			sc.readLoop(s)
		}()
		return nil
	})
	var active []*scaleConn
	for _, s := range all {
		if s != nil {
			sc.conns = append(sc.conns, s)
			if s.active {
				active = append(active, s)
			}
		}
	}
	opened := proto.ScaleReport{Phase: "opened", Conns: len(sc.conns), Seconds: time.Since(t0).Seconds()}
	if derr != nil {
		opened.Err = derr.Error()
	}
	if err := out.Encode(opened); err != nil {
		return err
	}
	cmds := bufio.NewScanner(os.Stdin)
	for cmds.Scan() {
		switch cmd := cmds.Text(); cmd {
		case "active":
			if *loop {
				for _, s := range active {
					if err := s.send(); err != nil {
						sc.fail(s, err)
					}
				}
				continue
			}
			sched.Add(1)
			go func() {
				defer sched.Done()
				sc.schedule(active, stop)
			}()
		case "mark":
			sc.mu.Lock()
			sc.lats = sc.lats[:0]
			sc.msgs.Store(0)
			sc.measure.Store(true)
			sc.mu.Unlock()
		case "end":
			sc.mu.Lock()
			sc.measure.Store(false)
			r := proto.ScaleReport{Phase: "result", Conns: len(sc.conns), Active: len(active), Msgs: sc.msgs.Load(),
				LatNanos: sc.lats, Failed: sc.failed.Load(), Skipped: sc.skipped.Load(), Err: sc.firstErr}
			err := out.Encode(r)
			sc.lats = nil
			sc.mu.Unlock()
			if err != nil {
				return err
			}
		case "stop":
			// The senders stop; in a closed loop, the next echo ends it.
			sc.stopped.Store(true)
			halt()
			sched.Wait()
		case "quit":
			return nil
		default:
			return fmt.Errorf("unknown command %q", cmd)
		}
	}
	return cmds.Err()
}
