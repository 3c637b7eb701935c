package conformance

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Case is one conformance case.
type Case struct {
	// ID numbers the case as Autobahn does ("6.4.1"); cases beyond
	// Autobahn's list extend it ("6.12.3-frag", "1.3.1").
	ID   string
	Desc string
	// Only restricts the case to one side; nil runs it on both.
	Only *Side
	// Deflate, when set, negotiates permessage-deflate for the case.
	Deflate *DeflateSpec
	// Bench marks a performance case (9.x): its time is reported, and it
	// passes or fails on correctness only.
	Bench bool
	// BackToBack, for a case that sends a valid message and the frames
	// after it without waiting for the echo, says how they were written:
	// one of the BackToBackWays.
	BackToBack string
	// Run drives one connection and returns an error describing the first
	// wrong behaviour.
	Run func(p *Peer) error
}

// Category returns the case's category number ("1" … "13").
func (c *Case) Category() string {
	cat, _, _ := strings.Cut(c.ID, ".")
	return cat
}

// Categories names the categories, in order.
var Categories = []struct{ ID, Name string }{
	{"1", "framing"},
	{"2", "ping/pong"},
	{"3", "reserved bits"},
	{"4", "opcodes"},
	{"5", "fragmentation"},
	{"6", "UTF-8"},
	{"7", "close handling"},
	{"9", "limits/performance"},
	{"10", "auto-fragmentation"},
	{"12", "permessage-deflate"},
	{"13", "deflate parameters"},
}

// CategoryName returns the name of category id.
func CategoryName(id string) string {
	for _, c := range Categories {
		if c.ID == id {
			return c.Name
		}
	}
	return "?"
}

// RunsOn reports whether the case runs on side s.
func (c *Case) RunsOn(s Side) bool { return c.Only == nil || *c.Only == s }

var (
	serverOnly = func() *Side { s := ServerSide; return &s }()
	clientOnly = func() *Side { s := ClientSide; return &s }()
)

type table struct{ cases []*Case }

func (t *table) add(id, desc string, run func(p *Peer) error) *Case {
	c := &Case{ID: id, Desc: desc, Run: run}
	t.cases = append(t.cases, c)
	return c
}

// A back-to-back case sends a valid message and the frames that follow
// it (a violation, a close, a ping) without waiting for the echo, as a
// real peer does, in each of three ways: all in one write, one frame per
// write, one octet per write. The case keeps Autobahn's ID for the way
// Autobahn sends it; the two other ways add the suffix of backToBack.
var backToBack = []struct {
	suffix string
	chop   int
	desc   string
}{
	{"-write", ChopNone, BackToBackWays[0]},
	{"-frame", ChopFrame, BackToBackWays[1]},
	{"-chop", 1, BackToBackWays[2]},
}

// BackToBackWays names the ways a back-to-back case writes its frames,
// in the order of the report.
var BackToBackWays = []string{"all in one write", "one frame per write", "one octet per write"}

// addBackToBack adds case id, sent in writes of native (a Send chop), and
// its variants sent the two other ways. what says what is sent, outcome
// what must come back; run sends with the chop it is given.
func (t *table) addBackToBack(id string, native int, what, outcome string, run func(p *Peer, chop int) error) {
	for _, b := range backToBack {
		cid := id
		if b.chop != native {
			cid += b.suffix
		}
		c := t.add(cid, fmt.Sprintf("%s, back to back, %s: %s", what, b.desc, outcome), func(p *Peer) error { return run(p, b.chop) })
		c.BackToBack = b.desc
	}
}

// Cases returns every case, sorted by ID. cfg decides the sizes of the
// 9.x cases.
func Cases(cfg *Config) []*Case {
	cfg = cfg.defaults()
	var t table
	framingCases(&t)
	pingCases(&t)
	reservedCases(&t)
	fragmentCases(&t)
	utf8Cases(&t)
	closeCases(&t)
	limitCases(&t, cfg)
	deflateCases(&t, cfg)
	slices.SortStableFunc(t.cases, func(a, b *Case) int { return compareIDs(a.ID, b.ID) })
	return t.cases
}

// compareIDs orders "6.2.10" after "6.2.9" and "6.12.3-frag" after
// "6.12.3".
func compareIDs(a, b string) int {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(pa) && i < len(pb); i++ {
		na, sa := splitNum(pa[i])
		nb, sb := splitNum(pb[i])
		if c := cmp.Compare(na, nb); c != 0 {
			return c
		}
		if c := cmp.Compare(sa, sb); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(pa), len(pb))
}

func splitNum(s string) (int, string) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	n, _ := strconv.Atoi(s[:i])
	return n, s[i:]
}
