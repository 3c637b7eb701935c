package conformance

import "time"

// How long the raw peer waits. A fixed wait either fails a correct but
// slow implementation by chance (a loaded machine, the race detector, a
// case that moves megabytes) or lets a hung one hold the run for long.
// Every wait for tether is therefore the base of Config, plus time for the
// work the case has moved so far, times raceSlowdown. It stays bounded: a
// case moves a bounded amount of data, so a hung case still fails.
//
// Work is counted in units of one byte sent or received; a frame or a
// write adds workPerFrame units (a system call and a wake-up on each
// side), and each byte compressed or inflated adds workPerDeflatedByte.

const (
	workPerFrame        = 64
	workPerDeflatedByte = 16
	// workUnit is the time allowed per unit of work: about a megabyte a
	// second, some hundred times slower than tether and the raw peer
	// move data without the race detector.
	workUnit = time.Microsecond
)

// moved records units of work done by the case.
func (p *Peer) moved(units int) { p.work.Add(int64(units)) }

// wait is how long the peer waits for tether's next frame, or for a write
// to be taken: the base timeout plus workUnit per unit of work moved so
// far, scaled for the race detector.
func (p *Peer) wait() time.Duration {
	return raceScaled(p.cfg.Timeout + time.Duration(p.work.Load())*workUnit)
}

// raceScaled returns d, multiplied by raceSlowdown.
func raceScaled(d time.Duration) time.Duration { return d * raceSlowdown }
