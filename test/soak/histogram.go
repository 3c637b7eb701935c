package soak

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// histogram counts durations in logarithmic buckets with 32 linear steps
// per power of two (values within about 3 % of each other share a
// bucket), for quantiles of a million samples in constant memory. It is
// safe for concurrent use.
type histogram struct {
	counts [64 << subBits]atomic.Uint64
	n      atomic.Uint64
	max    atomic.Int64
}

// subBits is log2 of the linear steps per power of two.
const subBits = 5

// bucketOf returns the bucket of v: v itself below 32, then 32 buckets
// per power of two.
func bucketOf(v uint64) int {
	if v < 1<<subBits {
		return int(v)
	}
	shift := bits.Len64(v) - 1 - subBits
	return (shift+1)<<subBits + int(v>>shift)&(1<<subBits-1)
}

// bucketBounds returns the smallest value of bucket i and the number of
// values in it.
func bucketBounds(i int) (low, width uint64) {
	if i < 1<<subBits {
		return uint64(i), 1
	}
	shift := i>>subBits - 1
	mant := uint64(i & (1<<subBits - 1))
	return (1<<subBits + mant) << shift, 1 << shift
}

// add records one duration (negative counts as zero).
func (h *histogram) add(d time.Duration) {
	d = max(d, 0)
	h.counts[bucketOf(uint64(d))].Add(1)
	h.n.Add(1)
	for {
		m := h.max.Load()
		if int64(d) <= m || h.max.CompareAndSwap(m, int64(d)) {
			return
		}
	}
}

// count returns the number of durations recorded.
func (h *histogram) count() uint64 { return h.n.Load() }

// quantile returns the duration below which a fraction q of the recorded
// ones lie (the middle of its bucket), or 0 when none was recorded.
func (h *histogram) quantile(q float64) time.Duration {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	rank := uint64(q * float64(n))
	rank = min(max(rank, 1), n)
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			low, width := bucketBounds(i)
			return min(time.Duration(low+width/2), h.maximum())
		}
	}
	return h.maximum()
}

// above returns the number of durations recorded in the buckets above
// the one of d (so those over d, to the bucket's precision).
func (h *histogram) above(d time.Duration) uint64 {
	var n uint64
	for i := bucketOf(uint64(max(d, 0))) + 1; i < len(h.counts); i++ {
		n += h.counts[i].Load()
	}
	return n
}

// maximum returns the largest duration recorded.
func (h *histogram) maximum() time.Duration { return time.Duration(h.max.Load()) }
