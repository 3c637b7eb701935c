package soak

import (
	"encoding/json"
	"strings"
	"testing"
)

// passing is the report of a run where nothing went wrong.
func passing() *Report {
	return &Report{Conns: 10, Opened: 10, SteadyComplete: true}
}

func TestJudgeFailsOnEveryExitCondition(t *testing.T) {
	cases := map[string]struct {
		change func(*Report)
		want   string
	}{
		"lost":          {func(r *Report) { r.Lost = 3 }, "3 messages lost"},
		"duplicated":    {func(r *Report) { r.Duplicated = 1 }, "1 messages duplicated"},
		"reordered":     {func(r *Report) { r.Reordered = 2 }, "2 messages reordered"},
		"corrupted":     {func(r *Report) { r.Corrupted = 1 }, "1 echoes corrupted"},
		"1011":          {func(r *Report) { r.Early1011 = 4 }, "4 connections ended with 1011"},
		"not opened":    {func(r *Report) { r.Opened = 7 }, "3 of 10 connections did not open"},
		"steady capped": {func(r *Report) { r.SteadyComplete = false }, "did not finish within the duration cap"},
	}
	for name, c := range cases {
		rep := passing()
		c.change(rep)
		rep.judge()
		if rep.Pass || len(rep.Failures) != 1 || !strings.Contains(rep.Failures[0], c.want) {
			t.Errorf("%s: Pass %v, Failures %q; want one failure containing %q", name, rep.Pass, rep.Failures, c.want)
		}
	}
}

func TestJudgePassesACleanRun(t *testing.T) {
	rep := passing()
	rep.judge()
	if !rep.Pass || len(rep.Failures) != 0 {
		t.Fatalf("Pass %v, Failures %q; want a pass", rep.Pass, rep.Failures)
	}
}

func TestReportTextEndsWithVerdictAndJSONIsOneLine(t *testing.T) {
	rep := passing()
	rep.Lost = 1
	rep.judge()
	var b strings.Builder
	rep.WriteText(&b)
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if last := lines[len(lines)-1]; last != "FAIL: 1 messages lost" {
		t.Fatalf("last line of the text = %q, want the verdict", last)
	}
	j := rep.JSON()
	if strings.Contains(string(j), "\n") {
		t.Fatalf("JSON spans several lines: %s", j)
	}
	var back Report
	if err := json.Unmarshal(j, &back); err != nil || back.Pass || back.Lost != 1 {
		t.Fatalf("JSON does not round-trip: %v, %+v", err, back)
	}
}

func TestThousandsGroupsDigits(t *testing.T) {
	for n, want := range map[uint64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}
