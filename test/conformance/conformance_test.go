package conformance

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tetherws/tether/test/conformance/wire"
	"go.uber.org/goleak"
)

var full = flag.Bool("conformance.full", false, "run the 9.x cases at Autobahn's full sizes (up to 16 MiB)")

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func testConfig() *Config { return &Config{Full: *full} }

// report turns a result into the subtest's outcome.
func report(t *testing.T, r Result) {
	t.Helper()
	switch r.Status {
	case Failed:
		msg := r.Case.Desc + "\n" + r.Reason
		if r.Transcript != "" {
			msg += "\nlast frames: " + r.Transcript
		}
		t.Error(msg)
	case Skipped:
		t.Skip(r.Reason)
	default:
		if r.Case.Bench {
			t.Logf("%v  %s", r.Duration, r.Case.Desc)
		}
	}
}

// runCases runs every case that -run selects as a subtest. The cases run
// in a pool of 8 (they mostly wait on the network), which -parallel does
// not bound; each subtest reports its case's result.
func runCases(t *testing.T, cfg *Config, side Side, keep func(*Case) bool, run func(*Case) Result) {
	var selected []*Case
	var waits []*chan Result
	for _, c := range Cases(cfg) {
		if !c.RunsOn(side) || keep != nil && !keep(c) {
			continue
		}
		t.Run(c.ID, func(t *testing.T) {
			selected = append(selected, c)
			var ch chan Result
			waits = append(waits, &ch)
			t.Parallel() // resumes once every case has been selected
			report(t, <-ch)
		})
	}
	for i, ch := range RunPool(selected, 8, run) {
		*waits[i] = ch
	}
}

// TestServer runs every case against tether's server, driven by the raw
// fuzzing client.
func TestServer(t *testing.T) {
	s, err := StartServer()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Error(err)
		}
	})
	cfg := testConfig()
	runCases(t, cfg, ServerSide, nil, func(c *Case) Result { return s.RunServer(c, cfg) })
}

// TestClient runs every case against tether's client, driven by the raw
// fuzzing server.
func TestClient(t *testing.T) {
	cfg := testConfig()
	runCases(t, cfg, ClientSide, nil, func(c *Case) Result { return RunClient(c, cfg) })
}

func TestCaseTableHasUniqueIDsAndAutobahnBreadth(t *testing.T) {
	seen := map[string]bool{}
	perCat := map[string]int{}
	cases := Cases(testConfig())
	for _, c := range cases {
		if seen[c.ID] {
			t.Errorf("duplicate case ID %s", c.ID)
		}
		seen[c.ID] = true
		if c.Desc == "" || c.Run == nil {
			t.Errorf("case %s has no description or no run", c.ID)
		}
		if CategoryName(c.Category()) == "?" {
			t.Errorf("case %s has an unknown category", c.ID)
		}
		perCat[c.Category()]++
	}
	if len(cases) < 300 {
		t.Errorf("%d cases, want the breadth of Autobahn (≥ 300)", len(cases))
	}
	for _, cat := range Categories {
		if perCat[cat.ID] == 0 {
			t.Errorf("category %s (%s) has no case", cat.ID, cat.Name)
		}
	}
	// A few Autobahn IDs that must exist.
	for _, id := range []string{"1.1.8", "1.2.8", "2.11", "3.7", "4.2.5", "5.20", "6.4.4", "6.23.7", "7.1.6", "7.13.2", "9.8.6", "10.1.1", "12.5.18", "13.8.1"} {
		if !seen[id] {
			t.Errorf("case %s is missing", id)
		}
	}
}

// The suite's UTF-8 reference agrees with unicode/utf8 on validity, and
// reports the first byte that cannot be part of valid text.
func TestUTF8Reference(t *testing.T) {
	check := func(b []byte) {
		pos := utf8FailPos(b)
		if (pos < 0) != utf8.Valid(b) {
			t.Fatalf("%x: utf8FailPos %d, utf8.Valid %v", b, pos, utf8.Valid(b))
		}
		if pos >= 0 && pos < len(b) && utf8FailPos(b[:pos]) >= 0 && utf8FailPos(b[:pos]) != pos {
			t.Fatalf("%x: the prefix before the failure position %d is not a valid prefix", b, pos)
		}
	}
	for _, g := range seqGroups() {
		for _, s := range g.seqs {
			check(unhex(s))
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		b := make([]byte, r.IntN(6))
		for i := range b {
			b[i] = byte(r.IntN(256))
			if r.IntN(3) == 0 {
				b[i] = 0x80 | byte(r.IntN(64))
			}
		}
		check(b)
	}
	for _, tc := range []struct {
		hex string
		pos int
	}{
		{"eda080", 1}, {"f4908080", 1}, {"c0af", 0}, {"e080af", 1}, {"ce", 1}, {"cebae1", 3}, {"80", 0}, {"f8", 0},
	} {
		if got := utf8FailPos(unhex(tc.hex)); got != tc.pos {
			t.Errorf("utf8FailPos(%s) = %d, want %d", tc.hex, got, tc.pos)
		}
	}
}

// Every case where a valid message is followed by a violation or a close
// is sent back to back in the three ways, under Autobahn's ID and two
// suffixed ones.
func TestBackToBackCasesComeInThreeWays(t *testing.T) {
	byID := map[string]*Case{}
	for _, c := range Cases(testConfig()) {
		byID[c.ID] = c
	}
	for _, id := range []string{"3.2", "3.3", "3.4", "4.1.3", "4.1.4", "4.1.5", "4.2.3", "4.2.4", "4.2.5", "5.15", "7.1.1", "7.1.6"} {
		ways := map[string]bool{}
		for _, v := range []string{"", "-write", "-frame", "-chop"} {
			if c := byID[id+v]; c != nil {
				if c.BackToBack == "" {
					t.Errorf("case %s is not marked back to back", c.ID)
				}
				ways[c.BackToBack] = true
			}
		}
		for _, way := range BackToBackWays {
			if !ways[way] {
				t.Errorf("case %s has no variant sent %s", id, way)
			}
		}
	}
}

func TestReportEndsWithTotals(t *testing.T) {
	c := &Case{ID: "1.1.1", Desc: "x"}
	var b strings.Builder
	WriteReport(&b, []Result{{Case: c, Side: ServerSide}, {Case: c, Side: ClientSide, Status: Failed, Reason: "r"}})
	out := b.String()
	if !strings.HasSuffix(out, "\n1 passed, 1 failed\n") {
		t.Fatalf("report does not end with the totals:\n%s", out)
	}
}

func TestReportCountsBackToBackWays(t *testing.T) {
	c := &Case{ID: "3.2", Desc: "x", BackToBack: BackToBackWays[0]}
	var b strings.Builder
	WriteReport(&b, []Result{{Case: c, Side: ServerSide, Status: Failed, Reason: "r"}, {Case: c, Side: ClientSide}})
	out := b.String()
	for _, row := range []string{
		fmt.Sprintf("%-26s %-7s %7d %7d %8d\n", BackToBackWays[0], "server", 0, 1, 0),
		fmt.Sprintf("%-26s %-7s %7d %7d %8d\n", BackToBackWays[0], "client", 1, 0, 0),
	} {
		if !strings.Contains(out, row) {
			t.Errorf("report has no row %q:\n%s", row, out)
		}
	}
}

// The wait for tether grows with the work a case has moved, by workUnit a
// unit, and is multiplied by raceSlowdown: a case that moves more data
// waits longer, and a hung one still fails.
func TestWaitGrowsWithWork(t *testing.T) {
	p := newPeer(ServerSide, (&Config{Timeout: time.Second}).defaults(), nil, wire.Reader{}, nil)
	if got, want := p.wait(), raceSlowdown*time.Second; got != want {
		t.Fatalf("wait before any work = %v, want %v", got, want)
	}
	p.Encode(F(wire.OpText, nil), F(wire.OpText, nil))
	p.moved(1 << 20)
	want := raceSlowdown * (time.Second + (1<<20+2*workPerFrame)*workUnit)
	if got := p.wait(); got != want {
		t.Fatalf("wait after 2 frames and 1 MiB = %v, want %v", got, want)
	}
}
