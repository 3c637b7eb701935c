package conformance

import (
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
)

// RunOptions select what Run runs.
type RunOptions struct {
	Config
	// Sides to run (default both).
	Sides []Side
	// Match, if set, keeps the cases whose ID it matches.
	Match *regexp.Regexp
	// Parallel is the number of cases run at once (default 8).
	// Benchmarks (9.x) always run one at a time.
	Parallel int
	// Progress, if set, is called after each case.
	Progress func(Result)
}

// Run runs the selected cases on the selected sides and returns the
// results in case order, server side first.
func Run(o RunOptions) ([]Result, error) {
	cfg := o.Config.defaults()
	sides := o.Sides
	if len(sides) == 0 {
		sides = []Side{ServerSide, ClientSide}
	}
	par := o.Parallel
	if par <= 0 {
		par = 8
	}
	var out []Result
	for _, side := range sides {
		var srv *ServerTarget
		if side == ServerSide {
			var err error
			if srv, err = StartServer(); err != nil {
				return out, err
			}
		}
		run := func(c *Case) Result {
			if side == ServerSide {
				return srv.RunServer(c, cfg)
			}
			return RunClient(c, cfg)
		}
		var cases []*Case
		for _, c := range Cases(cfg) {
			if c.RunsOn(side) && (o.Match == nil || o.Match.MatchString(c.ID)) {
				cases = append(cases, c)
			}
		}
		results := make([]Result, len(cases))
		chans := RunPool(cases, par, run)
		for i, ch := range chans {
			results[i] = <-ch
			if o.Progress != nil {
				o.Progress(results[i])
			}
		}
		out = append(out, results...)
		if srv != nil {
			if err := srv.Stop(); err != nil {
				return out, fmt.Errorf("stopping tether's server: %w", err)
			}
		}
	}
	return out, nil
}

// RunPool runs cases with run, par at a time (benchmarks afterwards, one
// at a time), and returns a channel per case that receives its result.
func RunPool(cases []*Case, par int, run func(*Case) Result) []chan Result {
	chans := make([]chan Result, len(cases))
	for i := range chans {
		chans[i] = make(chan Result, 1)
	}
	go func() {
		sem := make(chan struct{}, par)
		var wg sync.WaitGroup
		for i, c := range cases {
			if c.Bench {
				continue
			}
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				chans[i] <- run(c)
			})
		}
		wg.Wait()
		for i, c := range cases {
			if c.Bench {
				chans[i] <- run(c)
			}
		}
	}()
	return chans
}

// Counts returns the number of results passed, failed and skipped.
func Counts(rs []Result) (passed, failed, skipped int) {
	for _, r := range rs {
		switch r.Status {
		case OK:
			passed++
		case Failed:
			failed++
		default:
			skipped++
		}
	}
	return
}

// writeBackToBack prints the back-to-back cases by the way they were
// written, when the run had any.
func writeBackToBack(w io.Writer, rs []Result) {
	type key struct {
		way  string
		side Side
	}
	rows := map[key]*[3]int{}
	for _, r := range rs {
		if r.Case.BackToBack == "" {
			continue
		}
		k := key{r.Case.BackToBack, r.Side}
		if rows[k] == nil {
			rows[k] = &[3]int{}
		}
		rows[k][r.Status]++
	}
	if len(rows) == 0 {
		return
	}
	fmt.Fprintf(w, "\nback to back (a message, then a violation or a close, without waiting for the echo; the echo must come first):\n")
	fmt.Fprintf(w, "%-26s %-7s %7s %7s %8s\n", "written", "side", "passed", "failed", "skipped")
	for _, way := range BackToBackWays {
		for _, side := range []Side{ServerSide, ClientSide} {
			if r := rows[key{way, side}]; r != nil {
				fmt.Fprintf(w, "%-26s %-7s %7d %7d %8d\n", way, side, r[OK], r[Failed], r[Skipped])
			}
		}
	}
}

// WriteReport prints the per-category table, the back-to-back cases by the
// way they were written, the failures, the skip
// reasons, the 9.x timings and the final "N passed, M failed" line.
func WriteReport(w io.Writer, rs []Result) {
	type key struct {
		cat  string
		side Side
	}
	type row struct{ passed, failed, skipped int }
	rows := map[key]*row{}
	for _, r := range rs {
		k := key{r.Case.Category(), r.Side}
		if rows[k] == nil {
			rows[k] = &row{}
		}
		switch r.Status {
		case OK:
			rows[k].passed++
		case Failed:
			rows[k].failed++
		default:
			rows[k].skipped++
		}
	}
	fmt.Fprintf(w, "%-26s %-7s %7s %7s %8s\n", "category", "side", "passed", "failed", "skipped")
	for _, c := range Categories {
		for _, side := range []Side{ServerSide, ClientSide} {
			r := rows[key{c.ID, side}]
			if r == nil {
				continue
			}
			fmt.Fprintf(w, "%-26s %-7s %7d %7d %8d\n", c.ID+" "+c.Name, side, r.passed, r.failed, r.skipped)
		}
	}
	passed, failed, skipped := Counts(rs)
	fmt.Fprintf(w, "%-26s %-7s %7d %7d %8d\n", "total", "", passed, failed, skipped)
	writeBackToBack(w, rs)

	var timings []Result
	skips := map[string]int{}
	for _, r := range rs {
		if r.Case.Bench && r.Status != Skipped {
			timings = append(timings, r)
		}
		if r.Status == Skipped {
			skips[r.Reason]++
		}
	}
	if len(timings) > 0 {
		fmt.Fprintf(w, "\ntimings (9.x; reported, not graded on speed):\n")
		for _, r := range timings {
			fmt.Fprintf(w, "  %-7s %-6s %10s  %s\n", r.Case.ID, r.Side, r.Duration.Round(10*time.Microsecond), r.Case.Desc)
		}
	}
	if failed > 0 {
		fmt.Fprintf(w, "\nfailed cases:\n")
		for _, r := range rs {
			if r.Status == Failed {
				fmt.Fprintf(w, "  %-12s %-6s %s\n", r.Case.ID, r.Side, r.Case.Desc)
				fmt.Fprintf(w, "  %-12s %-6s   -> %s\n", "", "", r.Reason)
				if r.Transcript != "" {
					fmt.Fprintf(w, "  %-12s %-6s      [%s]\n", "", "", r.Transcript)
				}
			}
		}
	}
	if skipped > 0 {
		reasons := make([]string, 0, len(skips))
		for r := range skips {
			reasons = append(reasons, r)
		}
		sort.Strings(reasons)
		fmt.Fprintf(w, "\nskipped: %s\n", strings.Join(func() []string {
			var s []string
			for _, r := range reasons {
				s = append(s, fmt.Sprintf("%d × %s", skips[r], r))
			}
			return s
		}(), "; "))
	}
	fmt.Fprintf(w, "\n%d passed, %d failed\n", passed, failed)
}
