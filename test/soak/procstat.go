package soak

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"
)

// procStat is what a process costs so far: CPU time from getrusage(2),
// resident memory from /proc/self/status.
type procStat struct {
	User   time.Duration `json:"user_ns"`
	System time.Duration `json:"system_ns"`
	// RSS is VmRSS, the resident set now; HWM is VmHWM, its peak since
	// the process started (kept by the kernel, so no peak is missed
	// between two samples). Both in KiB.
	RSSKiB int64 `json:"rss_kib"`
	HWMKiB int64 `json:"hwm_kib"`
}

// cpu returns the user and system CPU time together.
func (p procStat) cpu() time.Duration { return p.User + p.System }

// readProcStat returns the figures of the calling process.
func readProcStat() (procStat, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return procStat{}, fmt.Errorf("soak: getrusage: %w", err)
	}
	p := procStat{
		User:   time.Duration(ru.Utime.Nano()),
		System: time.Duration(ru.Stime.Nano()),
	}
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return p, fmt.Errorf("soak: reading the resident set size: %w", err)
	}
	p.RSSKiB, p.HWMKiB = statusKiB(b, "VmRSS:"), statusKiB(b, "VmHWM:")
	return p, nil
}

// statusKiB returns the value in kB of a line of /proc/self/status such
// as "VmRSS:	   12345 kB", or -1 when it is missing.
func statusKiB(status []byte, key string) int64 {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		rest, ok := bytes.CutPrefix(sc.Bytes(), []byte(key))
		if !ok {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) == 0 {
			return -1
		}
		v, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil {
			return -1
		}
		return v
	}
	return -1
}

// raiseFileLimit raises the soft RLIMIT_NOFILE to the hard limit and
// returns the new soft limit (a process cannot go past the hard limit
// without CAP_SYS_RESOURCE).
func raiseFileLimit() (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("soak: getrlimit: %w", err)
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			return 0, fmt.Errorf("soak: setrlimit: %w", err)
		}
	}
	return lim.Cur, nil
}

// loadAverage returns the first figure of /proc/loadavg (the run queue
// over the last minute), or "?".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := bytes.Fields(b)
	if len(f) == 0 {
		return "?"
	}
	return string(f[0])
}
