package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tetherws/tether"
	"github.com/tetherws/tether/cmd/tether/internal/hist"
)

// run is the shared state of one tether bench run.
type run struct {
	cfg  benchConfig
	msgs [][]byte // the corpus; nil for generated messages
	typ  tether.Opcode
	// maxPending bounds the messages on the way per connection, so that
	// replies never wait for room in Messages while the worker is blocked
	// in Send (which could stall both sides).
	maxPending int

	start   chan struct{} // closed by begin
	stopped chan struct{} // closed by end
	endOnce sync.Once

	// beat is closed and replaced every fraction of --timeout: at each
	// beat the workers look for a reply that is overdue.
	beat atomic.Pointer[chan struct{}]

	t0       time.Time     // the start of the measurement
	dialTime time.Duration // how long opening the connections took
	last     atomic.Int64  // when the last worker was done with replies, ns since t0

	opened             atomic.Int64
	dialFails          atomic.Int64
	sent, echoed       atomic.Uint64
	sentBytes, echoedB atomic.Uint64
	lat                hist.Histogram

	mu     sync.Mutex
	errs   map[string]int // by kind
	closes map[string]int // received close code, by connection
}

func newRun(cfg benchConfig, msgs [][]byte) *run {
	beat := make(chan struct{})
	r := &run{
		cfg:        cfg,
		msgs:       msgs,
		typ:        tether.OpBinary,
		maxPending: max(cfg.inflight, tether.DefaultMaxQueue),
		start:      make(chan struct{}),
		stopped:    make(chan struct{}),
		errs:       make(map[string]int),
		closes:     make(map[string]int),
	}
	if cfg.text {
		r.typ = tether.OpText
	}
	r.beat.Store(&beat)
	return r
}

// begin starts the measurement.
func (r *run) begin() {
	r.t0 = time.Now()
	close(r.start)
}

// watch starts the beats; the function it returns stops them.
func (r *run) watch() func() {
	every := min(r.cfg.timeout/4, time.Second)
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				ch := make(chan struct{})
				close(*r.beat.Swap(&ch))
			case <-done:
				return
			}
		}
	}()
	return func() {
		close(done)
		<-stopped
	}
}

// end stops sending; replies are still awaited.
func (r *run) end() { r.endOnce.Do(func() { close(r.stopped) }) }

// fail counts n errors of a kind.
func (r *run) fail(kind string, n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs[kind] += n
}

// dialFailed counts a connection that did not open.
func (r *run) dialFailed(err error) {
	r.dialFails.Add(1)
	r.fail("open: "+errorKind(err), 1)
}

// done records that a worker has had its last reply.
func (r *run) done() {
	t := int64(time.Since(r.t0))
	for {
		l := r.last.Load()
		if t <= l || r.last.CompareAndSwap(l, t) {
			return
		}
	}
}

// errorKind names the kind of an error without the details that differ
// from one connection to the next (addresses, ports).
func errorKind(err error) string {
	if se, ok := errors.AsType[*tether.StatusError](err); ok {
		return "HTTP " + strconv.Itoa(se.StatusCode())
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return "timeout"
	}
	if errors.Is(err, context.Canceled) {
		return "interrupted"
	}
	if errno, ok := errors.AsType[syscall.Errno](err); ok {
		return errno.Error()
	}
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err.Error()
		}
		err = u
	}
}

// pending is a message on the way.
type pending struct {
	seq uint64
	at  time.Time // when it was sent, or due with --rate
}

// worker drives one connection.
type worker struct {
	id   int
	r    *run
	conn *tether.Conn

	seq     uint64 // messages sent
	got     uint64 // replies received
	pending []pending
	buf     []byte // generated messages are built here

	stopping bool // the run has ended or the connection failed
	ended    bool // the connection ended before the worker closed it
}

// run sends and checks messages from the start to the end of the run,
// then closes the connection.
func (w *worker) run() {
	r := w.r
	defer w.finish()
	<-r.start
	msgs := w.conn.Messages()
	stopped := r.stopped
	beat := *r.beat.Load()

	var tick <-chan time.Time
	var timer *time.Timer
	var interval time.Duration
	var next time.Time
	if r.cfg.rate > 0 {
		interval = time.Duration(float64(time.Second) / r.cfg.rate)
		// Spread the connections' sends over one interval.
		next = r.t0.Add(interval * time.Duration(w.id) / time.Duration(r.cfg.conns))
		timer = time.NewTimer(time.Until(next))
		defer timer.Stop()
		tick = timer.C
	} else {
		for range r.cfg.inflight {
			if !w.more() || !w.send(time.Now()) {
				break
			}
		}
	}

	for {
		if len(w.pending) == 0 && (w.stopping || !w.more()) {
			r.done()
			return
		}
		select {
		case m, ok := <-msgs:
			if !ok {
				w.lost()
				return
			}
			w.reply(m)
			if tick == nil && !w.stopping && w.more() {
				w.send(time.Now())
			}
		case <-tick:
			if w.stopping || !w.more() {
				tick = nil
				break
			}
			if len(w.pending) >= r.maxPending {
				r.fail(fmt.Sprintf("send skipped: %d replies outstanding (server behind the rate)", r.maxPending), 1)
			} else {
				w.send(next)
			}
			next = next.Add(interval)
			timer.Reset(time.Until(next))
		case <-stopped:
			stopped, tick = nil, nil
			w.stopping = true
		case <-beat:
			beat = *r.beat.Load()
			if len(w.pending) > 0 && time.Since(w.pending[0].at) > r.cfg.timeout {
				// Later replies could not be matched: give up.
				r.fail("no reply", len(w.pending))
				r.done()
				return
			}
		}
	}
}

// more reports whether the connection is to send more (--count).
func (w *worker) more() bool {
	return !w.stopping && (w.r.cfg.count == 0 || w.seq < uint64(w.r.cfg.count))
}

// message returns message number seq of this connection.
func (w *worker) message(seq uint64) []byte {
	r := w.r
	if r.msgs != nil {
		return r.msgs[(uint64(w.id)+seq)%uint64(len(r.msgs))]
	}
	size := r.cfg.size
	if cap(w.buf) < size {
		w.buf = make([]byte, size)
	}
	b := w.buf[:size]
	for i := range b {
		b[i] = 'a' + byte((seq+uint64(i))%26)
	}
	// A header makes each message unique: connection and sequence number.
	var hdr [48]byte
	h := append(hdr[:0], 'c')
	h = strconv.AppendInt(h, int64(w.id), 10)
	h = append(h, " s"...)
	h = strconv.AppendUint(h, seq, 10)
	h = append(h, ' ')
	copy(b, h)
	return b
}

// send sends the next message, due at at. It returns false when the
// connection failed.
func (w *worker) send(at time.Time) bool {
	data := w.message(w.seq)
	if err := w.conn.Send(w.conn.Context(), w.r.typ, data); err != nil {
		w.r.fail("send: "+errorKind(err), 1)
		w.stopping = true
		return false
	}
	w.pending = append(w.pending, pending{seq: w.seq, at: at})
	w.seq++
	w.r.sent.Add(1)
	w.r.sentBytes.Add(uint64(len(data)))
	return true
}

// reply checks a reply against the oldest message on the way.
func (w *worker) reply(m tether.Message) {
	defer m.Release()
	now := time.Now()
	r := w.r
	if len(w.pending) == 0 {
		r.fail("unexpected message", 1)
		return
	}
	p := w.pending[0]
	w.pending = w.pending[1:]
	if len(w.pending) == 0 {
		w.pending = w.pending[:0:0] // let the backing array go
	}
	w.got++
	if m.Type != r.typ || !bytes.Equal(m.Data, w.message(p.seq)) {
		r.fail("reply differs from the message sent", 1)
		return
	}
	r.lat.Record(now.Sub(p.at))
	r.echoed.Add(1)
	r.echoedB.Add(uint64(len(m.Data)))
}

// lost records a connection that ended before the worker closed it.
func (w *worker) lost() {
	w.ended = true
	st := w.conn.CloseStatus()
	w.r.fail("connection ended early: "+tether.CloseFrame{Code: st.Code(), Reason: st.Reason()}.String(), 1)
	if len(w.pending) > 0 {
		w.r.fail("no reply", len(w.pending))
	}
	w.r.done()
}

// finish closes the connection (if it is still open) and records how it
// ended.
func (w *worker) finish() {
	_ = w.conn.Close(tether.CloseNormal, "")
	st := w.conn.CloseStatus()
	r := w.r
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closes[st.Code().String()]++
	if err := w.conn.Err(); err != nil && !w.ended {
		kind := "close: " + st.Code().String()
		if st.Cause != nil {
			kind += ": " + errorKind(st.Cause)
		}
		r.errs[kind]++
	}
}
