package main

import (
	"flag"
	"fmt"
	"os"
	"regexp"

	"github.com/tetherws/tether/test/conformance"
)

func main() {
	quick := flag.Bool("quick", false, "run the 9.x cases at reduced sizes, as `go test` does")
	run := flag.String("run", "", "run only the cases whose ID matches this regular expression")
	side := flag.String("side", "both", "side of tether to test: server, client or both")
	par := flag.Int("parallel", 0, "cases run at once (default 8; 9.x always alone)")
	verbose := flag.Bool("v", false, "print every case as it finishes")
	flag.Parse()

	o := conformance.RunOptions{Config: conformance.Config{Full: !*quick}, Parallel: *par}
	switch *side {
	case "server":
		o.Sides = []conformance.Side{conformance.ServerSide}
	case "client":
		o.Sides = []conformance.Side{conformance.ClientSide}
	case "both":
	default:
		fmt.Fprintf(os.Stderr, "conformance: -side must be server, client or both\n")
		os.Exit(2)
	}
	if *run != "" {
		re, err := regexp.Compile(*run)
		if err != nil {
			fmt.Fprintf(os.Stderr, "conformance: -run: %v\n", err)
			os.Exit(2)
		}
		o.Match = re
	}
	if *verbose {
		o.Progress = func(r conformance.Result) {
			fmt.Printf("%-7s %-12s %-6s %8s  %s\n", r.Status, r.Case.ID, r.Side, r.Duration.Round(1000), r.Reason)
		}
	}
	rs, err := conformance.Run(o)
	conformance.WriteReport(os.Stdout, rs)
	if err != nil {
		fmt.Fprintf(os.Stderr, "conformance: %v\n", err)
		os.Exit(1)
	}
	if _, failed, _ := conformance.Counts(rs); failed > 0 {
		os.Exit(1)
	}
}
