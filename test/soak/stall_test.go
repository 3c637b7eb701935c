package soak

import (
	"testing"
	"time"
)

func TestProcAddrIsLittleEndianHex(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.2:443":   "0200007F:01BB",
		"10.1.2.3:65535":  "0302010A:FFFF",
		"[::1]:80":        "",
		"not an address":  "",
		"127.0.0.1:99999": "",
	} {
		if got := procAddr(in); got != want {
			t.Errorf("procAddr(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTCPQueuesFindBothEndsOfASocketPair(t *testing.T) {
	const procNetTCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:8343 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 907653 2 0000000000000000 100 0 0 10 0
   1: 0200007F:A001 0100007F:8343 01 00000000:00000196 00:00000000 00000000     0        0 907660 1 0000000000000000 20 4 30 10 -1
   2: 0100007F:8343 0200007F:A001 01 0000000C:00000000 00:00000000 00000000     0        0 907661 1 0000000000000000 20 4 30 10 -1
`
	q := parseTCPQueues([]byte(procNetTCP))
	client, server := "127.0.0.2:40961", "127.0.0.1:33603"
	if tx, rx := q.lookup(client, server); tx != 0 || rx != 406 {
		t.Errorf("client socket: tx %d rx %d, want 0 406", tx, rx)
	}
	if tx, rx := q.lookup(server, client); tx != 12 || rx != 0 {
		t.Errorf("server socket: tx %d rx %d, want 12 0", tx, rx)
	}
	if tx, rx := q.lookup("127.0.0.9:1", server); tx != -1 || rx != -1 {
		t.Errorf("unknown socket: tx %d rx %d, want -1 -1", tx, rx)
	}
}

func TestWatchStateStartsTheSilenceAtTheFirstSendOrAnEcho(t *testing.T) {
	var w watchState
	t0 := timeAt(0)
	w.note(1, false, t0) // the first send after an idle time starts the wait
	w.note(2, false, timeAt(5))
	if got := w.since.Load(); got != t0.UnixNano() {
		t.Fatalf("since = %d after a second send, want the first send's %d", got, t0.UnixNano())
	}
	w.note(1, true, timeAt(9))
	if got := w.since.Load(); got != timeAt(9).UnixNano() || w.inFlight.Load() != 1 {
		t.Fatalf("after an echo: since %d, in flight %d; want %d, 1", got, w.inFlight.Load(), timeAt(9).UnixNano())
	}
}

// timeAt returns an instant s seconds after a fixed origin.
func timeAt(s int) time.Time { return time.Unix(1_700_000_000+int64(s), 0) }
