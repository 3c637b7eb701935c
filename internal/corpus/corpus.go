package corpus

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

var (
	users    = []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter"}
	rooms    = []string{"general", "random", "engineering", "support", "announcements", "design", "ops-alerts"}
	symbols  = []string{"BTC-USD", "ETH-USD", "SOL-USD", "AAPL", "MSFT", "GOOG", "AMZN", "EUR-USD", "GBP-USD", "XAU-USD"}
	statuses = []string{"online", "away", "busy", "offline"}
	words    = strings.Fields(`the a to and of in is it you that for on with this was are be have
		not at but we they can just so if about what will deploy build release server client message
		latency queue error retry timeout window compress socket ping pong review merge branch test
		fix update thanks please meeting tomorrow today customer ticket issue dashboard metrics`)
	kinds = []string{"mention", "reply", "reaction", "invite", "reminder", "system"}
)

// Generator produces messages; the same seed gives the same stream.
type Generator struct {
	rng *rand.Rand
	seq int64
	t   time.Time
}

// New returns a generator seeded with seed.
func New(seed uint64) *Generator {
	return &Generator{
		rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		t:   time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC),
	}
}

// Messages returns the next n messages.
func (g *Generator) Messages(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = g.Next()
	}
	return out
}

// Messages returns n messages of the stream seeded with seed.
func Messages(seed uint64, n int) [][]byte { return New(seed).Messages(n) }

func (g *Generator) pick(list []string) string { return list[g.rng.IntN(len(list))] }

func (g *Generator) sentence(min, max int) string {
	n := min + g.rng.IntN(max-min+1)
	w := make([]string, n)
	for i := range w {
		w[i] = g.pick(words)
	}
	s := strings.Join(w, " ")
	return strings.ToUpper(s[:1]) + s[1:] + "."
}

func (g *Generator) id(prefix string) string {
	return fmt.Sprintf("%s_%08x%04x", prefix, g.rng.Uint32(), g.rng.Uint32()&0xffff)
}

// Next returns the next message.
func (g *Generator) Next() []byte {
	g.seq++
	g.t = g.t.Add(time.Duration(g.rng.IntN(1500)) * time.Millisecond)
	ts := g.t.Format(time.RFC3339Nano)
	var v any
	switch r := g.rng.IntN(100); {
	case r < 35:
		v = map[string]any{
			"type": "message", "seq": g.seq, "ts": ts,
			"data": map[string]any{
				"id": g.id("msg"), "room": g.pick(rooms), "author": g.pick(users),
				"text": g.sentence(3, 30), "edited": false,
				"attachments": []any{},
			},
		}
	case r < 65:
		sym := g.pick(symbols)
		price := 100 + g.rng.Float64()*900
		v = map[string]any{
			"type": "tick", "seq": g.seq, "ts": ts, "symbol": sym,
			"bid": round(price, 2), "ask": round(price*1.0004, 2),
			"volume": g.rng.IntN(100000), "change24h": round(g.rng.NormFloat64()*2, 3),
		}
	case r < 80:
		v = map[string]any{
			"type": "presence", "seq": g.seq, "ts": ts,
			"user": g.pick(users), "status": g.pick(statuses),
			"device": map[string]any{"kind": []string{"web", "ios", "android", "desktop"}[g.rng.IntN(4)], "version": fmt.Sprintf("4.%d.%d", g.rng.IntN(20), g.rng.IntN(10))},
		}
	case r < 97:
		v = map[string]any{
			"type": "notification", "seq": g.seq, "ts": ts,
			"data": map[string]any{
				"id": g.id("ntf"), "kind": g.pick(kinds), "recipient": g.pick(users),
				"actor": g.pick(users), "room": g.pick(rooms), "preview": g.sentence(5, 20),
				"read": g.rng.IntN(2) == 0, "priority": g.rng.IntN(5),
				"links": map[string]string{"self": "/api/v2/notifications/" + g.id("ntf"), "room": "/api/v2/rooms/" + g.pick(rooms)},
			},
		}
	default:
		n := 10 + g.rng.IntN(40)
		members := make([]any, n)
		for i := range members {
			members[i] = map[string]any{
				"user": g.pick(users), "status": g.pick(statuses), "role": []string{"member", "admin", "guest"}[g.rng.IntN(3)],
				"lastSeen": g.t.Add(-time.Duration(g.rng.IntN(86400)) * time.Second).Format(time.RFC3339),
			}
		}
		v = map[string]any{"type": "snapshot", "seq": g.seq, "ts": ts, "room": g.pick(rooms), "topic": g.sentence(4, 12), "members": members}
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func round(f float64, digits int) float64 {
	p := 1.0
	for range digits {
		p *= 10
	}
	return float64(int64(f*p)) / p
}
