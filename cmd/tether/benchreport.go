package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tetherws/tether/cmd/tether/internal/hist"
)

// progress prints the state of a run every interval: a line redrawn in
// place on a terminal, plain lines otherwise.
type progress struct {
	r        *run
	w        io.Writer
	tty      bool
	done     chan struct{}
	finished chan struct{}
	once     sync.Once
}

// newProgress starts printing the progress of r to w; interval 0 prints
// nothing.
func newProgress(r *run, w io.Writer, interval time.Duration) *progress {
	_, tty := terminal(w)
	p := &progress{r: r, w: w, tty: tty, done: make(chan struct{}), finished: make(chan struct{})}
	if interval <= 0 {
		close(p.finished)
		return p
	}
	go p.loop(interval)
	return p
}

func (p *progress) loop(interval time.Duration) {
	defer close(p.finished)
	t := time.NewTicker(interval)
	defer t.Stop()
	var prev sample
	printed := false
	for {
		select {
		case <-t.C:
		case <-p.done:
			if printed && p.tty {
				fmt.Fprint(p.w, "\r\x1b[K") // the report follows
			}
			return
		}
		cur := p.r.sample()
		line := p.r.progressLine(prev, cur)
		prev = cur
		printed = true
		if p.tty {
			fmt.Fprintf(p.w, "\r%s\x1b[K", line)
		} else {
			fmt.Fprintln(p.w, line)
		}
	}
}

// stop stops printing; it may be called more than once.
func (p *progress) stop() {
	p.once.Do(func() { close(p.done) })
	<-p.finished
}

// sample is the state of a run at one time.
type sample struct {
	at              time.Time
	echoed, echoedB uint64
	lat             hist.Snapshot
}

func (r *run) sample() sample {
	return sample{at: time.Now(), echoed: r.echoed.Load(), echoedB: r.echoedB.Load(), lat: r.lat.Snapshot()}
}

// progressLine describes the interval from prev to cur.
func (r *run) progressLine(prev, cur sample) string {
	select {
	case <-r.start:
	default:
		return fmt.Sprintf("opening connections: %d open, %d failed, of %d", r.opened.Load(), r.dialFails.Load(), r.cfg.conns)
	}
	if prev.at.Before(r.t0) {
		prev = sample{at: r.t0}
	}
	secs := cur.at.Sub(prev.at).Seconds()
	lat := cur.lat.Sub(prev.lat)
	return fmt.Sprintf("%6.1fs  %d conns  %.0f msg/s  %.2f MB/s  p50 %s  p99 %s  max %s  errors %d",
		cur.at.Sub(r.t0).Seconds(), r.opened.Load(),
		float64(cur.echoed-prev.echoed)/secs, float64(cur.echoedB-prev.echoedB)/secs/1e6,
		ms(lat.Quantile(0.5)), ms(lat.Quantile(0.99)), ms(lat.Max), r.errorCount())
}

func (r *run) errorCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.errs {
		n += c
	}
	return n
}

// ms formats a latency.
func ms(d time.Duration) string {
	switch {
	case d >= 100*time.Millisecond:
		return d.Round(time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond).String()
	default:
		return d.Round(time.Microsecond).String()
	}
}

// result is the outcome of a run; its JSON form is the output of
// tether bench --json.
type result struct {
	URL         string         `json:"url"`
	Connections int            `json:"connections"` // asked for
	Opened      int64          `json:"opened"`
	OpenSeconds float64        `json:"open_seconds"` // to open them all
	Load        string         `json:"load"`         // closed loop or rate
	Message     string         `json:"message"`      // size and type, or corpus
	Seconds     float64        `json:"seconds"`      // from the start to the last reply
	Sent        uint64         `json:"sent"`
	Echoed      uint64         `json:"echoed"` // came back intact
	MsgsPerSec  float64        `json:"msgs_per_sec"`
	MBPerSec    float64        `json:"mb_per_sec"` // payload echoed, 10^6 bytes
	Latency     latency        `json:"latency_ms"`
	Errors      map[string]int `json:"errors"` // by kind
	ErrorCount  int            `json:"error_count"`
	CloseCodes  map[string]int `json:"close_codes"` // received, per connection
}

// latency is the latency distribution of a result, in milliseconds.
type latency struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p99.9"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// result computes the result once every worker is done.
func (r *run) result() *result {
	cfg := r.cfg
	res := &result{
		URL:         cfg.url,
		Connections: cfg.conns,
		Opened:      r.opened.Load(),
		OpenSeconds: r.dialTime.Seconds(),
		Seconds:     time.Duration(r.last.Load()).Seconds(),
		Sent:        r.sent.Load(),
		Echoed:      r.echoed.Load(),
		ErrorCount:  r.errorCount(),
	}
	r.mu.Lock()
	res.Errors, res.CloseCodes = maps.Clone(r.errs), maps.Clone(r.closes)
	r.mu.Unlock()
	if cfg.rate > 0 {
		res.Load = fmt.Sprintf("%g msg/s per connection", cfg.rate)
	} else {
		res.Load = fmt.Sprintf("closed loop, %d in flight per connection", cfg.inflight)
	}
	typ := "binary"
	if cfg.text {
		typ = "text"
	}
	if r.msgs != nil {
		res.Message = fmt.Sprintf("%d %s messages from %s", len(r.msgs), typ, cfg.corpus)
	} else {
		res.Message = fmt.Sprintf("%d-byte %s", cfg.size, typ)
	}
	if res.Seconds > 0 {
		res.MsgsPerSec = float64(res.Echoed) / res.Seconds
		res.MBPerSec = float64(r.echoedB.Load()) / res.Seconds / 1e6
	}
	s := r.lat.Snapshot()
	toMS := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	res.Latency = latency{
		P50: toMS(s.Quantile(0.5)), P90: toMS(s.Quantile(0.9)), P99: toMS(s.Quantile(0.99)),
		P999: toMS(s.Quantile(0.999)), Max: toMS(s.Max), Mean: toMS(s.Mean()),
	}
	return res
}

// failed reports whether the run had an error.
func (res *result) failed() bool { return res.ErrorCount > 0 }

func (res *result) writeJSON(w io.Writer) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(res)
}

func (res *result) writeText(w io.Writer) {
	var b strings.Builder
	fmt.Fprintf(&b, "tether bench %s\n", res.URL)
	fmt.Fprintf(&b, "  load          %d connections, %s, %s\n", res.Connections, res.Message, res.Load)
	fmt.Fprintf(&b, "  connections   %d opened in %.2fs, %d failed\n", res.Opened, res.OpenSeconds, int64(res.Connections)-res.Opened)
	fmt.Fprintf(&b, "  messages      %d sent, %d echoed intact in %.2fs\n", res.Sent, res.Echoed, res.Seconds)
	fmt.Fprintf(&b, "  throughput    %.0f msg/s, %.2f MB/s of payload each way\n", res.MsgsPerSec, res.MBPerSec)
	l := res.Latency
	fmt.Fprintf(&b, "  latency       p50 %s  p90 %s  p99 %s  p99.9 %s  max %s  (mean %s)\n",
		fms(l.P50), fms(l.P90), fms(l.P99), fms(l.P999), fms(l.Max), fms(l.Mean))
	fmt.Fprintf(&b, "  errors        %d\n", res.ErrorCount)
	for _, k := range slices.Sorted(maps.Keys(res.Errors)) {
		fmt.Fprintf(&b, "    %8d  %s\n", res.Errors[k], k)
	}
	b.WriteString("  close codes\n")
	for _, k := range slices.Sorted(maps.Keys(res.CloseCodes)) {
		fmt.Fprintf(&b, "    %8d  %s\n", res.CloseCodes[k], k)
	}
	_, _ = io.WriteString(w, b.String())
}

// fms formats milliseconds as a duration.
func fms(v float64) string { return ms(time.Duration(v * float64(time.Millisecond))) }
