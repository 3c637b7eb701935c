package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tetherws/tether/compress"
	"github.com/tetherws/tether/internal/corpus"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "deflatetune:", err)
		os.Exit(1)
	}
}

// run parses the command line and prints the table to out.
func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("deflatetune", flag.ContinueOnError)
	fs.SetOutput(out)
	n := fs.Int("n", 2000, "number of generated messages (without CORPUS)")
	seed := fs.Uint64("seed", 1, "seed of the generated corpus")
	levelsFlag := fs.String("levels", "1,3,5,6,9,-2", "compression levels (1..9, or -2 for Huffman only)")
	bitsFlag := fs.String("bits", "9,10,11,12,13,14,15", "window bits")
	conns := fs.Int("conns", 64, "connections the cold measurement spreads messages over")
	memConns := fs.Int("memconns", 256, "connections whose memory is measured")
	minTime := fs.Duration("mintime", 200*time.Millisecond, "least duration of one timed run")
	rounds := fs.Int("rounds", 3, "timed runs per measurement (the fastest is kept)")
	dump := fs.String("dump", "", "write the generated messages to this directory, one per file, and exit")
	fs.Usage = func() {
		fmt.Fprintln(out, "usage: deflatetune [flags] [CORPUS]\n\nCORPUS is a directory with one message per file. Flags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 1 {
		fs.Usage()
		return errors.New("more than one corpus directory")
	}
	dir := fs.Arg(0)
	msgs, err := loadMessages(dir, *n, *seed)
	if err != nil {
		return err
	}
	if *dump != "" {
		return dumpMessages(*dump, msgs)
	}
	levels, err := ints(*levelsFlag)
	if err != nil {
		return fmt.Errorf("-levels: %w", err)
	}
	bits, err := ints(*bitsFlag)
	if err != nil {
		return fmt.Errorf("-bits: %w", err)
	}
	s := settings{minTime: *minTime, rounds: *rounds, conns: max(*conns, 1), memConns: max(*memConns, 1)}
	rows, def, err := measureAll(bits, levels, msgs, s)
	if err != nil {
		return err
	}
	ref, err := stdlibResult(msgs, s)
	if err != nil {
		return err
	}
	source := dir
	if source == "" {
		source = "a generated JSON stream"
	}
	printTable(out, msgs, source, s, rows, def, ref)
	return nil
}

// measureAll measures every window and level, and the defaults (12 bits,
// level 5), measured first so that every row is compared with the same
// numbers.
func measureAll(bits, levels []int, msgs [][]byte, s settings) ([]result, result, error) {
	if _, err := measure(compress.DefaultWindowBits, compress.DefaultLevel, msgs, s); err != nil { // warm up
		return nil, result{}, err
	}
	def, err := measure(compress.DefaultWindowBits, compress.DefaultLevel, msgs, s)
	if err != nil {
		return nil, result{}, err
	}
	var rows []result
	for _, b := range bits {
		for _, l := range levels {
			r := def
			if b != def.bits || l != def.level {
				if r, err = measure(b, l, msgs, s); err != nil {
					return nil, result{}, err
				}
			}
			rows = append(rows, r)
		}
	}
	return rows, def, nil
}

// printTable prints the rows like the table of Python's compression guide:
// window bits × level, memory, size and time, each also relative to the
// defaults.
func printTable(out io.Writer, msgs [][]byte, source string, s settings, rows []result, def, ref result) {
	plain := 0
	for _, m := range msgs {
		plain += len(m)
	}
	_, cpuOK := cpuTime()
	clock := "wall-clock and process CPU"
	if !cpuOK {
		clock = "wall-clock (no CPU clock here)"
	}
	fmt.Fprintf(out, "%d messages from %s, %d bytes, %d on average.\n", len(msgs), source, plain, plain/len(msgs))
	fmt.Fprintf(out, "Memory measured over %d connections; %s time per message (compress + inflate),\n", s.memConns, clock)
	fmt.Fprintf(out, "best of %d runs of at least %v; cold spreads messages over %d connections.\n\n", max(s.rounds, 1), s.minTime, s.conns)

	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "bits\tlevel\tmemory/conn\tvs default\tsize\tvs default\thot wall ns\thot cpu ns\tvs default\tcold wall ns\tcold cpu ns\tvs default\t")
	for _, r := range rows {
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%.1f%%\t%s\t%d\t%s\t%s\t%d\t%s\t%s\t\n",
			r.bits, levelName(r.level), kib(r.mem), pct(r.mem, def.mem), 100*r.size, pct(r.size, def.size),
			r.hot.wall.Nanoseconds(), ns(r.hot.cpu), times(r.hot, def.hot),
			r.cold.wall.Nanoseconds(), ns(r.cold.cpu), times(r.cold, def.cold))
	}
	w.Flush()
	fmt.Fprintf(out, "\nFor reference, compress/flate at level 6 with a 15-bit window, one writer and one\n"+
		"reader kept per connection (as zlib-based peers do): %s per connection (%s), size %.1f%% (%s),\n"+
		"hot %d ns wall, %s ns cpu per message (%s).\n",
		kib(ref.mem), pct(ref.mem, def.mem), 100*ref.size, pct(ref.size, def.size),
		ref.hot.wall.Nanoseconds(), ns(ref.hot.cpu), times(ref.hot, def.hot))
	fmt.Fprintln(out, `
memory/conn: the heap one endpoint keeps between messages (history windows and state);
compressors and decompressors are pooled and shared, not counted. An idle connection
also stores its windows compressed (compress.Options.IdleAfter), about a quarter for
text. size: compressed/plain payload bytes. Below 15 bits tether's own window encoder
runs with zlib's match-search limits for each level; at 15 bits and for Huffman only
(-2) klauspost/compress's compressors do.`)
}

func levelName(l int) string {
	if l == compress.HuffmanOnly {
		return "huffman"
	}
	return strconv.Itoa(l)
}

func kib(n float64) string { return fmt.Sprintf("%.2f KiB", n/1024) }

// pct is v relative to def, in percent.
func pct(v, def float64) string {
	if def == 0 {
		return "-"
	}
	d := 100 * (v/def - 1)
	if d > -0.05 && d < 0.05 {
		return "="
	}
	return fmt.Sprintf("%+.1f%%", d)
}

// ns prints a CPU time, or "-" when it is not measured.
func ns(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	return strconv.FormatInt(d.Nanoseconds(), 10)
}

// times is t relative to def: by CPU time where measured, else by wall.
func times(t, def timing) string {
	if t.cpu > 0 && def.cpu > 0 {
		return fmt.Sprintf("%.2fx", float64(t.cpu)/float64(def.cpu))
	}
	return fmt.Sprintf("%.2fx", float64(t.wall)/float64(def.wall))
}

func ints(list string) ([]int, error) {
	var out []int
	for _, s := range strings.Split(list, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// loadMessages reads one message per regular file of dir, in name order,
// or generates n messages when dir is "".
func loadMessages(dir string, n int, seed uint64) ([][]byte, error) {
	if dir == "" {
		if n <= 0 {
			return nil, errors.New("-n must be positive")
		}
		return corpus.Messages(seed, n), nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	var msgs [][]byte
	for _, name := range names {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		if len(b) > 0 {
			msgs = append(msgs, b)
		}
	}
	if len(msgs) == 0 {
		return nil, fmt.Errorf("no messages in %s", dir)
	}
	return msgs, nil
}

// dumpMessages writes msgs to dir, one per file.
func dumpMessages(dir string, msgs [][]byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for i, m := range msgs {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%06d.json", i)), m, 0o644); err != nil {
			return err
		}
	}
	return nil
}
