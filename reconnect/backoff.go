package reconnect

import (
	"math"
	"math/rand/v2"
	"time"
)

// Defaults of the backoff, as in Python websockets.
const (
	DefaultInitialDelay = 5 * time.Second
	DefaultMinDelay     = 3100 * time.Millisecond
	DefaultMaxDelay     = 90 * time.Second
	DefaultFactor       = 1.618
)

// DefaultStableAfter is how long a connection must stay open to count as
// a success when Options.StableAfter is 0.
const DefaultStableAfter = 10 * time.Second

// Backoff gives the delays between connection attempts. The supervisor
// calls Next before each retry and Reset when a connection that stayed
// open for Options.StableAfter is lost. A Backoff is used by one
// supervisor at a time and need not be safe for concurrent use.
type Backoff interface {
	Next() time.Duration
	Reset()
}

// Exponential is the backoff of Python websockets (and RFC 6455 §7.2.3):
// the first delay is uniformly random in [0, Initial), so that clients cut
// off together do not come back together; then Min, multiplied by Factor
// at each step while it is below Max; then Max forever. With the defaults:
// U(0, 5 s), 3.1 s, 5.0158 s, 8.1156 s, 13.131 s, 21.246 s, 34.376 s,
// 55.62 s, 89.994 s, 90 s, 90 s, …
type Exponential struct {
	Initial time.Duration
	Min     time.Duration
	Max     time.Duration
	Factor  float64 // at least 1
	// Rand returns a number in [0, 1) for the first delay. Nil means
	// math/rand/v2.Float64.
	Rand func() float64

	step int
	cur  float64 // nanoseconds
}

// NewBackoff returns the default backoff: Exponential with the defaults of
// Python websockets.
func NewBackoff() *Exponential {
	return &Exponential{Initial: DefaultInitialDelay, Min: DefaultMinDelay, Max: DefaultMaxDelay, Factor: DefaultFactor}
}

// Next returns the next delay.
func (b *Exponential) Next() time.Duration {
	switch b.step {
	case 0:
		b.step = 1
		r := b.Rand
		if r == nil {
			r = rand.Float64
		}
		return time.Duration(r() * float64(b.Initial))
	case 1:
		b.step = 2
		b.cur = float64(b.Min)
	}
	if b.cur < float64(b.Max) {
		d := b.cur
		b.cur *= b.Factor
		return time.Duration(math.Round(d))
	}
	return b.Max
}

// Reset starts the sequence again from the random first delay.
func (b *Exponential) Reset() { b.step, b.cur = 0, 0 }

// Constant returns a backoff that always waits d (0: retry at once). It
// suits tests and local peers, not fleets of clients.
func Constant(d time.Duration) Backoff { return constant(d) }

type constant time.Duration

func (c constant) Next() time.Duration { return time.Duration(c) }
func (constant) Reset()                {}
