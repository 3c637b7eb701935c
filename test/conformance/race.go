//go:build race

package conformance

// raceSlowdown multiplies every wait of the suite. The race detector makes
// both ends of a case several times slower (2 to 20 times, says its
// documentation), and more on a loaded machine.
const raceSlowdown = 5
