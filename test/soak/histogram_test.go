package soak

import (
	"testing"
	"time"
)

func TestHistogramBucketsTileTheValuesWithoutGaps(t *testing.T) {
	next := uint64(0)
	for i := range bucketOf(1 << 62) {
		low, width := bucketBounds(i)
		if low != next {
			t.Fatalf("bucket %d starts at %d, want %d (the end of the previous one)", i, low, next)
		}
		if bucketOf(low) != i || bucketOf(low+width-1) != i {
			t.Fatalf("bucket %d = [%d, %d): bucketOf gives %d and %d", i, low, low+width, bucketOf(low), bucketOf(low+width-1))
		}
		next = low + width
	}
}

func TestHistogramQuantilesWithinThreePercent(t *testing.T) {
	var h histogram
	for v := 1; v <= 100000; v++ {
		h.add(time.Duration(v) * time.Microsecond)
	}
	for _, q := range []float64{0.5, 0.9, 0.99} {
		want := q * 100000 * float64(time.Microsecond)
		got := float64(h.quantile(q))
		if got < want*0.97 || got > want*1.03 {
			t.Errorf("quantile(%v) = %v, want %v ± 3 %%", q, time.Duration(got), time.Duration(want))
		}
	}
	if h.maximum() != 100*time.Millisecond || h.count() != 100000 {
		t.Errorf("maximum %v, count %d; want 100ms, 100000", h.maximum(), h.count())
	}
}

func TestHistogramEmptyQuantileIsZero(t *testing.T) {
	var h histogram
	if got := h.quantile(0.99); got != 0 {
		t.Fatalf("quantile of an empty histogram = %v, want 0", got)
	}
}
