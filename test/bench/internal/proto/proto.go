// Package proto holds what the bench server, client and driver share: the
// server's statistics, the client's result and the payloads.
package proto

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// Libraries under test, in the order the driver interleaves them.
var Libs = []string{"tether", "gorilla", "coder", "gobwas", "gws", "raw"}

// TetherRelease is tether's echo server with Message.Release after each
// send: the driver runs it beside tether in the echo scenarios, to show
// what the Quick Start's kept messages cost. It is not a peer.
const TetherRelease = "tether-release"

// Stats is what the server's control endpoint (/stats) answers.
type Stats struct {
	Mallocs    uint64 `json:"mallocs"`
	HeapInuse  uint64 `json:"heap_inuse"`
	StackInuse uint64 `json:"stack_inuse"`
	Goroutines int    `json:"goroutines"`
	// CPUMicros is utime+stime of the server process (getrusage: the
	// counters of /proc/<pid>/stat, at microsecond resolution).
	CPUMicros int64 `json:"cpu_us"`
	// RSS is VmRSS from /proc/self/status, in bytes.
	RSS int64 `json:"rss"`
}

// Result is what the client prints (as JSON) after one run.
type Result struct {
	Scenario string `json:"scenario"`
	Lib      string `json:"lib"`
	Conns    int    `json:"conns"`
	Size     int    `json:"size,omitempty"`

	// Msgs is messages echoed (echo, deflate) or delivered (broadcast)
	// in the measurement window of Seconds.
	Msgs    int64   `json:"msgs"`
	Seconds float64 `json:"seconds"`
	// CPUMicros is the server's CPU time in the window; ProcTicks the same
	// from /proc/<pid>/stat (clock ticks), as a cross-check.
	CPUMicros int64   `json:"cpu_us"`
	ProcTicks int64   `json:"proc_ticks"`
	Mallocs   uint64  `json:"mallocs"`
	P50Micros float64 `json:"p50_us"`
	P99Micros float64 `json:"p99_us"`

	// Deflate: the negotiated extension and the server→client payload
	// bytes on the wire against the plain bytes they carried.
	Extension  string `json:"extension,omitempty"`
	WireBytes  int64  `json:"wire_bytes,omitempty"`
	PlainBytes int64  `json:"plain_bytes,omitempty"`

	// Idle: memory and goroutines added per connection.
	RSSPerConn        float64 `json:"rss_per_conn,omitempty"`
	HeapStackPerConn  float64 `json:"heap_stack_per_conn,omitempty"`
	StackPerConn      float64 `json:"stack_per_conn,omitempty"`
	GoroutinesPerConn float64 `json:"goroutines_per_conn,omitempty"`

	// NA says why this library has no figure here (e.g. compression not
	// negotiated); Err says why the run failed.
	NA  string `json:"na,omitempty"`
	Err string `json:"err,omitempty"`
}

// Text returns n bytes of ASCII text (valid UTF-8) that depend on seed.
func Text(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 0x7e7e))
	b := make([]byte, 0, n+16)
	for len(b) < n {
		b = append(b, words[r.IntN(len(words))]...)
		b = append(b, ' ')
	}
	return b[:n]
}

// PutSeq writes seq as hex into the first min(16, len(b)) bytes of b.
func PutSeq(b []byte, seq uint64) {
	const hex = "0123456789abcdef"
	n := min(16, len(b))
	for i := n - 1; i >= 0; i-- {
		b[i] = hex[seq&15]
		seq >>= 4
	}
}

var words = strings.Fields(`the quick brown fox jumps over lazy dog lorem ipsum
dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut
labore et dolore magna aliqua websocket message frame socket channel context
server client buffer stream latency throughput connection handshake`)

// Corpus returns n JSON messages like those of a trading or chat service:
// order updates, chat lines, presence and ticker events, 150 B to 4 KiB.
func Corpus(n int) [][]byte {
	r := rand.New(rand.NewPCG(42, 7))
	syms := []string{"BTC-USD", "ETH-USD", "SOL-USD", "EUR-USD", "AAPL", "MSFT", "NVDA"}
	names := []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"}
	statuses := []string{"new", "partially_filled", "filled", "cancelled"}
	regions := []string{"eu-west-1", "us-east-1", "ap-south-1"}
	out := make([][]byte, 0, n)
	ts := int64(1732200000000)
	for i := 0; i < n; i++ {
		ts += int64(r.IntN(5000))
		var sb strings.Builder
		switch i % 4 {
		case 0: // order update with fills
			fmt.Fprintf(&sb, `{"type":"order.update","id":"ord_%016x","ts":%d,"user":{"id":%d,"name":"%s_%d","locale":"en-GB"},"symbol":"%s","side":"%s","price":"%d.%02d","qty":"%d.%04d","status":"%s","fills":[`,
				r.Uint64(), ts, r.IntN(1e6), names[r.IntN(len(names))], r.IntN(100), syms[r.IntN(len(syms))],
				[]string{"buy", "sell"}[r.IntN(2)], r.IntN(90000)+10, r.IntN(100), r.IntN(10), r.IntN(10000), statuses[r.IntN(len(statuses))])
			nf := r.IntN(12)
			for j := 0; j < nf; j++ {
				if j > 0 {
					sb.WriteByte(',')
				}
				fmt.Fprintf(&sb, `{"px":"%d.%02d","qty":"%d.%04d","fee":"0.%04d","liquidity":"%s","ts":%d}`,
					r.IntN(90000)+10, r.IntN(100), r.IntN(10), r.IntN(10000), r.IntN(10000), []string{"maker", "taker"}[r.IntN(2)], ts+int64(j))
			}
			fmt.Fprintf(&sb, `],"meta":{"client":"web/5.%d.%d","region":"%s","trace":"%016x"}}`, r.IntN(10), r.IntN(10), regions[r.IntN(len(regions))], r.Uint64())
		case 1: // chat line
			fmt.Fprintf(&sb, `{"type":"chat.message","room":"room-%d","id":%d,"ts":%d,"from":{"id":%d,"name":"%s","avatar":"https://cdn.example.com/a/%x.png"},"text":%s,"mentions":[`,
				r.IntN(50), r.Uint32(), ts, r.IntN(1e6), names[r.IntN(len(names))], r.Uint32(), strconv.Quote(string(Text(40+r.IntN(600), r.Uint64()))))
			for j, nm := 0, r.IntN(3); j < nm; j++ {
				if j > 0 {
					sb.WriteByte(',')
				}
				fmt.Fprintf(&sb, `"%s"`, names[r.IntN(len(names))])
			}
			sb.WriteString(`],"reactions":{`)
			fmt.Fprintf(&sb, `"thumbs_up":%d,"heart":%d,"laugh":%d}}`, r.IntN(20), r.IntN(20), r.IntN(5))
		case 2: // presence
			fmt.Fprintf(&sb, `{"type":"presence","ts":%d,"users":[`, ts)
			for j, nu := 0, 1+r.IntN(30); j < nu; j++ {
				if j > 0 {
					sb.WriteByte(',')
				}
				fmt.Fprintf(&sb, `{"id":%d,"name":"%s_%d","status":"%s","last_seen":%d}`,
					r.IntN(1e6), names[r.IntN(len(names))], r.IntN(100), []string{"online", "away", "busy", "offline"}[r.IntN(4)], ts-int64(r.IntN(1e6)))
			}
			sb.WriteString(`]}`)
		case 3: // ticker snapshot
			fmt.Fprintf(&sb, `{"type":"ticker","ts":%d,"data":[`, ts)
			for j, ns := 0, 1+r.IntN(len(syms)); j < ns; j++ {
				if j > 0 {
					sb.WriteByte(',')
				}
				fmt.Fprintf(&sb, `{"symbol":"%s","bid":"%d.%02d","ask":"%d.%02d","last":"%d.%02d","volume_24h":"%d.%02d","change_24h":"-%d.%02d"}`,
					syms[j], r.IntN(90000), r.IntN(100), r.IntN(90000), r.IntN(100), r.IntN(90000), r.IntN(100), r.IntN(1e7), r.IntN(100), r.IntN(10), r.IntN(100))
			}
			sb.WriteString(`]}`)
		}
		out = append(out, []byte(sb.String()))
	}
	return out
}

// ScaleReport is one line (JSON) the client prints in the scale scenario,
// where the driver runs several clients and steers them through phases
// with commands on their standard input.
type ScaleReport struct {
	// Phase is "opened" (the connections are open and idle), "result"
	// (after the command "end": the measurement window) or "error" (the
	// client gave up).
	Phase string `json:"phase"`
	// Conns is the connections opened; Seconds the time it took.
	Conns   int     `json:"conns"`
	Seconds float64 `json:"seconds,omitempty"`
	// Active is the connections sending.
	Active int `json:"active,omitempty"`
	// Msgs is the echoes received and checked in the window; LatNanos
	// their round trips.
	Msgs     int64   `json:"msgs,omitempty"`
	LatNanos []int64 `json:"lat_ns,omitempty"`
	// Failed is the connections lost since they opened (a read or write
	// error, an echo that differs, a message on an idle connection);
	// Skipped the sends skipped because the previous echo had not come
	// back within the period.
	Failed  int64 `json:"failed,omitempty"`
	Skipped int64 `json:"skipped,omitempty"`
	// Err is the first failure: of an open (then Conns says how many
	// opened before it), or of a connection afterwards.
	Err string `json:"err,omitempty"`
}
