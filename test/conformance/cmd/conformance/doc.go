// Command conformance runs tether's conformance suite (the Autobahn case
// categories, see package conformance) against tether's server and client,
// prints a table per category and side, and ends with "N passed, M failed".
// It exits with status 1 when a case failed.
//
//	go run ./test/conformance/cmd/conformance            # everything, 9.x at full size
//	go run ./test/conformance/cmd/conformance -quick -run '^6\.' -side server
package main
