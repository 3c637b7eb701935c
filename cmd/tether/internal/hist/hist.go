package hist

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

const (
	// subBits is the number of bits of precision kept in each power of
	// two: 2^subBits buckets per power, a relative error below 2^-subBits.
	subBits = 8
	// maxBits bounds the values recorded: at most 2^maxBits-1 ns.
	maxBits = 40
	// numBuckets holds the exact buckets below 2^(subBits+1) and 2^subBits
	// more for each power of two above, up to 2^maxBits.
	numBuckets = (maxBits - subBits + 1) << subBits
)

// MaxValue is the largest duration a Histogram tells apart; longer ones
// are recorded as MaxValue.
const MaxValue = time.Duration(1<<maxBits - 1)

// index returns the bucket of the value v (0 ≤ v ≤ MaxValue).
func index(v uint64) int {
	s := bits.Len64(v) - (subBits + 1)
	if s <= 0 {
		return int(v)
	}
	return s<<subBits + int(v>>uint(s))
}

// bounds returns the smallest and the largest value of bucket i.
func bounds(i int) (lo, hi uint64) {
	if i < 2<<subBits {
		return uint64(i), uint64(i)
	}
	s := uint(i>>subBits - 1)
	m := uint64(i - int(s)<<subBits)
	return m << s, (m+1)<<s - 1
}

// Histogram counts durations. The zero value is empty and ready; all its
// methods may be called from several goroutines at once.
type Histogram struct {
	counts [numBuckets]atomic.Uint64
	count  atomic.Uint64
	sum    atomic.Uint64 // nanoseconds
	max    atomic.Int64
}

// Record counts the duration d. Negative durations count as 0.
func (h *Histogram) Record(d time.Duration) {
	d = min(max(d, 0), MaxValue)
	h.counts[index(uint64(d))].Add(1)
	h.count.Add(1)
	h.sum.Add(uint64(d))
	for {
		m := h.max.Load()
		if int64(d) <= m || h.max.CompareAndSwap(m, int64(d)) {
			return
		}
	}
}

// Count returns the number of durations recorded.
func (h *Histogram) Count() uint64 { return h.count.Load() }

// Snapshot copies the histogram. Records made during the copy may be
// partly in it: Count is then the sum of the copied buckets.
func (h *Histogram) Snapshot() Snapshot {
	s := Snapshot{counts: make([]uint64, numBuckets)}
	for i := range h.counts {
		c := h.counts[i].Load()
		s.counts[i] = c
		s.Count += c
	}
	s.Sum = time.Duration(h.sum.Load())
	s.Max = time.Duration(h.max.Load())
	return s
}

// Snapshot is a copy of a Histogram's counts. The zero value is empty.
type Snapshot struct {
	counts []uint64
	// Count is the number of durations counted.
	Count uint64
	// Sum is their sum, for Mean.
	Sum time.Duration
	// Max is the largest duration counted (in an interval from Sub, the
	// upper bound of its highest bucket, at most the later Max).
	Max time.Duration
}

// Quantile returns the duration that a fraction q (0 ≤ q ≤ 1) of the
// counted durations do not exceed, to within 0.4% above: the upper bound
// of the bucket where the rank ⌈q·Count⌉ falls, at most Max. Quantile(1)
// is Max; an empty snapshot gives 0.
func (s Snapshot) Quantile(q float64) time.Duration {
	if s.Count == 0 {
		return 0
	}
	if q >= 1 {
		return s.Max
	}
	rank := uint64(math.Ceil(max(q, 0) * float64(s.Count)))
	rank = max(rank, 1)
	var seen uint64
	for i, c := range s.counts {
		seen += c
		if seen >= rank {
			_, hi := bounds(i)
			return min(time.Duration(hi), s.Max)
		}
	}
	return s.Max
}

// Mean returns the average of the counted durations (0 when empty).
func (s Snapshot) Mean() time.Duration {
	if s.Count == 0 {
		return 0
	}
	return s.Sum / time.Duration(s.Count)
}

// Sub returns what was counted after prev and up to s, when prev is an
// earlier snapshot of the same Histogram.
func (s Snapshot) Sub(prev Snapshot) Snapshot {
	d := Snapshot{counts: make([]uint64, numBuckets), Sum: s.Sum - prev.Sum}
	top := -1
	for i := range s.counts {
		c := s.counts[i]
		if prev.counts != nil {
			c -= prev.counts[i]
		}
		d.counts[i] = c
		d.Count += c
		if c > 0 {
			top = i
		}
	}
	if top >= 0 {
		_, hi := bounds(top)
		d.Max = min(time.Duration(hi), s.Max)
	}
	return d
}
