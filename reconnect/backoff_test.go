package reconnect_test

import (
	"testing"
	"time"

	"github.com/tetherws/tether/reconnect"
)

// pythonDelays are the delays after the random first one, with the
// defaults: 3.1 s multiplied by 1.618 while below 90 s (to the nanosecond),
// then 90 s.
var pythonDelays = []time.Duration{
	3100000000, 5015800000, 8115564400, 13130983199, 21245930816,
	34375916061, 55620232186, 89993535678, 90 * time.Second, 90 * time.Second,
}

func TestDefaultBackoffIsPythonSequence(t *testing.T) {
	b := reconnect.NewBackoff()
	b.Rand = half
	want := append([]time.Duration{2500 * time.Millisecond}, pythonDelays...)
	for i, w := range want {
		if got := b.Next(); got != w {
			t.Fatalf("delay %d = %v, want %v", i, got, w)
		}
	}
	b.Reset()
	if got := b.Next(); got != 2500*time.Millisecond {
		t.Fatalf("first delay after Reset = %v", got)
	}
	if got := b.Next(); got != 3100*time.Millisecond {
		t.Fatalf("second delay after Reset = %v", got)
	}
}

func TestDefaultBackoffFirstDelayIsUniformBelowFiveSeconds(t *testing.T) {
	for range 1000 {
		b := reconnect.NewBackoff()
		if d := b.Next(); d < 0 || d >= 5*time.Second {
			t.Fatalf("first delay %v outside [0, 5s)", d)
		}
	}
	for _, r := range []float64{0, 0.999999999} {
		b := reconnect.NewBackoff()
		b.Rand = func() float64 { return r }
		if d, want := b.Next(), time.Duration(r*float64(5*time.Second)); d != want {
			t.Fatalf("rand %v: first delay %v, want %v", r, d, want)
		}
	}
}

func TestExponentialWithMinAboveMaxWaitsMax(t *testing.T) {
	b := &reconnect.Exponential{Initial: 0, Min: time.Minute, Max: time.Second, Factor: 2}
	for i, want := range []time.Duration{0, time.Second, time.Second} {
		if got := b.Next(); got != want {
			t.Fatalf("delay %d = %v, want %v", i, got, want)
		}
	}
}

func TestConstantBackoff(t *testing.T) {
	b := reconnect.Constant(time.Second)
	for range 3 {
		if d := b.Next(); d != time.Second {
			t.Fatalf("Next = %v", d)
		}
		b.Reset()
	}
}
