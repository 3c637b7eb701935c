//go:build !race

package conformance

// raceSlowdown multiplies every wait of the suite: 1 without the race
// detector.
const raceSlowdown = 1
