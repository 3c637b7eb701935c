package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tetherws/tether/test/bench/internal/proto"
)

// perConn is (rss-base)/n, or NaN when either RSS is unknown (-1).
func perConn(rss, base int64, n float64) float64 {
	if rss < 0 || base < 0 {
		return math.NaN()
	}
	return float64(rss-base) / n
}

var statsClient = &http.Client{Timeout: time.Minute}

// sumStats asks every server for its /stats and sums them.
func sumStats(ctls []string, query string) (proto.Stats, error) {
	var sum proto.Stats
	for _, ctl := range ctls {
		resp, err := statsClient.Get("http://" + ctl + "/stats?" + query)
		if err != nil {
			return sum, fmt.Errorf("stats: %w", err)
		}
		var st proto.Stats
		err = json.NewDecoder(resp.Body).Decode(&st)
		resp.Body.Close()
		if err != nil {
			return sum, fmt.Errorf("stats of %s: %w", ctl, err)
		}
		sum.Mallocs += st.Mallocs
		sum.HeapInuse += st.HeapInuse
		sum.StackInuse += st.StackInuse
		sum.Goroutines += st.Goroutines
		sum.CPUMicros += st.CPUMicros
		if st.RSS < 0 || sum.RSS < 0 {
			// A server could not read its RSS (out of open files).
			sum.RSS = -1
		} else {
			sum.RSS += st.RSS
		}
	}
	return sum, nil
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat's times (100 on
// every Linux architecture Go runs on).
const clockTicks = 100

// clientTicks sums utime+stime of the clients, from /proc/<pid>/stat
// (-1 if one cannot be read).
func clientTicks(clients []*scaleClient) int64 {
	var sum int64
	for _, c := range clients {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(c.pid) + "/stat")
		if err != nil {
			return -1
		}
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(f) < 13 {
			return -1
		}
		u, err1 := strconv.ParseInt(f[11], 10, 64)
		s, err2 := strconv.ParseInt(f[12], 10, 64)
		if err1 != nil || err2 != nil {
			return -1
		}
		sum += u + s
	}
	return sum
}

// openFiles counts the open files of each server process.
func openFiles(servers []*serverProc) []int {
	out := make([]int, len(servers))
	for i, s := range servers {
		fds, err := os.ReadDir("/proc/" + strconv.Itoa(s.pid) + "/fd")
		if err != nil {
			out[i] = -1
			continue
		}
		out[i] = len(fds)
	}
	return out
}

// spread prints the connections of each server process, "a / b / …".
func spread(per []int) string {
	if len(per) == 0 {
		return ""
	}
	var parts []string
	for _, n := range per {
		parts = append(parts, thousands(float64(n)))
	}
	return strings.Join(parts, " / ")
}

// netCounters returns the TCP segments retransmitted and the packets
// dropped by the per-CPU input queues (the second column of softnet_stat),
// since boot, on the whole machine; -1 when unreadable.
func netCounters() (retrans, drops int64) {
	retrans, drops = -1, -1
	if b, err := os.ReadFile("/proc/net/snmp"); err == nil {
		var head []string
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) == 0 || f[0] != "Tcp:" {
				continue
			}
			if head == nil {
				head = f
				continue
			}
			if i := slices.Index(head, "RetransSegs"); i > 0 && i < len(f) {
				retrans, _ = strconv.ParseInt(f[i], 10, 64)
			}
			break
		}
	}
	if b, err := os.ReadFile("/proc/net/softnet_stat"); err == nil {
		drops = 0
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			f := strings.Fields(line)
			if len(f) > 1 {
				n, _ := strconv.ParseInt(f[1], 16, 64)
				drops += n
			}
		}
	}
	return retrans, drops
}
