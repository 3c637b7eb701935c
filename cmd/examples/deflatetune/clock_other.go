//go:build !(linux || darwin || freebsd)

package main

import "time"

// cpuTime reports that the process CPU time is not measured here.
func cpuTime() (time.Duration, bool) { return 0, false }
