package hist

import (
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestBucketsCoverEveryValueOnceWithinTheError(t *testing.T) {
	prevHi := int64(-1)
	for i := range numBuckets {
		lo, hi := bounds(i)
		if int64(lo) != prevHi+1 {
			t.Fatalf("bucket %d starts at %d, want %d", i, lo, prevHi+1)
		}
		if index(lo) != i || index(hi) != i {
			t.Fatalf("bucket %d = [%d, %d], but index(lo)=%d index(hi)=%d", i, lo, hi, index(lo), index(hi))
		}
		if float64(hi-lo) > float64(lo)/(1<<subBits) {
			t.Fatalf("bucket %d = [%d, %d] is wider than %d‰ of its start", i, lo, hi, 1000>>subBits)
		}
		prevHi = int64(hi)
	}
	if time.Duration(prevHi) != MaxValue {
		t.Fatalf("last bucket ends at %d, want MaxValue %d", prevHi, MaxValue)
	}
}

func TestQuantilesMatchSortedValuesWithinTheError(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var h Histogram
	vals := make([]time.Duration, 100_000)
	for i := range vals {
		// Log-uniform from 1 µs to about 1 s.
		vals[i] = time.Duration(float64(time.Microsecond) * float64(uint64(1)<<r.IntN(20)) * (1 + r.Float64()))
		h.Record(vals[i])
	}
	slices.Sort(vals)
	s := h.Snapshot()
	if s.Count != uint64(len(vals)) {
		t.Fatalf("Count = %d, want %d", s.Count, len(vals))
	}
	for _, q := range []float64{0, 0.5, 0.9, 0.99, 0.999, 1} {
		rank := int(float64(len(vals))*q+0.999999) - 1
		want := vals[max(rank, 0)]
		got := s.Quantile(q)
		if got < want || float64(got-want) > float64(want)/(1<<subBits) {
			t.Errorf("Quantile(%v) = %v, want %v to within +%.2f%%", q, got, want, 100.0/(1<<subBits))
		}
	}
	if s.Max != vals[len(vals)-1] {
		t.Errorf("Max = %v, want %v", s.Max, vals[len(vals)-1])
	}
	var sum time.Duration
	for _, v := range vals {
		sum += v
	}
	if s.Mean() != sum/time.Duration(len(vals)) {
		t.Errorf("Mean = %v, want %v", s.Mean(), sum/time.Duration(len(vals)))
	}
}

func TestOutOfRangeValuesAreClamped(t *testing.T) {
	var h Histogram
	h.Record(-time.Second)
	h.Record(100 * time.Hour)
	s := h.Snapshot()
	if q := s.Quantile(0); q != 0 {
		t.Errorf("Quantile(0) = %v, want 0 for a negative record", q)
	}
	if s.Max != MaxValue || s.Quantile(1) != MaxValue {
		t.Errorf("Max = %v, Quantile(1) = %v, want MaxValue %v", s.Max, s.Quantile(1), MaxValue)
	}
}

func TestEmptySnapshotIsZero(t *testing.T) {
	var s Snapshot
	if s.Quantile(0.5) != 0 || s.Mean() != 0 || s.Count != 0 {
		t.Fatalf("empty snapshot: Quantile %v Mean %v Count %d", s.Quantile(0.5), s.Mean(), s.Count)
	}
	var h Histogram
	if d := h.Snapshot().Sub(s); d.Count != 0 || d.Quantile(0.99) != 0 {
		t.Fatalf("Sub of empties: %+v", d)
	}
}

func TestSubDescribesTheInterval(t *testing.T) {
	var h Histogram
	for range 1000 {
		h.Record(time.Millisecond)
	}
	before := h.Snapshot()
	for range 10 {
		h.Record(10 * time.Microsecond)
	}
	d := h.Snapshot().Sub(before)
	if d.Count != 10 {
		t.Fatalf("interval Count = %d, want 10", d.Count)
	}
	if q := d.Quantile(0.99); q < 10*time.Microsecond || q > 10*time.Microsecond+10*time.Microsecond/(1<<subBits) {
		t.Errorf("interval p99 = %v, want about 10µs", q)
	}
	if d.Max >= time.Millisecond {
		t.Errorf("interval Max = %v, want below the earlier 1ms records", d.Max)
	}
	if d.Mean() != 10*time.Microsecond {
		t.Errorf("interval Mean = %v, want 10µs", d.Mean())
	}
}

func TestConcurrentRecordsAreAllCounted(t *testing.T) {
	var h Histogram
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 10_000 {
				h.Record(time.Duration(g*10_000 + i))
			}
		})
	}
	wg.Wait()
	s := h.Snapshot()
	if s.Count != 80_000 || h.Count() != 80_000 {
		t.Fatalf("Count = %d (snapshot) %d (live), want 80000", s.Count, h.Count())
	}
	if s.Max != 79_999 {
		t.Fatalf("Max = %v, want 79.999µs", s.Max)
	}
}
