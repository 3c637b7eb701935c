package main

import (
	"syscall"
	"time"
)

const clockName = "times are CPU time of the measuring thread"

// clock returns the CPU time used by the calling thread (the caller has
// locked its goroutine to the thread).
func clock() time.Duration {
	const rusageThread = 1 // RUSAGE_THREAD
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return time.Duration(time.Now().UnixNano())
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
