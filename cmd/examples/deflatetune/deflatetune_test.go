package main

import (
	"bytes"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tetherws/tether/compress"
	"github.com/tetherws/tether/internal/corpus"
)

// quick are settings that keep a test short.
var quick = settings{minTime: time.Millisecond, rounds: 1, conns: 4, memConns: 64}

// The tool reads a corpus directory, one message per file, and prints a
// row per window and level under the header.
func TestTableForACorpusDirectory(t *testing.T) {
	dir := t.TempDir()
	if err := dumpMessages(dir, corpus.Messages(7, 200)); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err := run([]string{"-bits", "9,12,15", "-levels", "1,5,-2", "-mintime", "1ms", "-rounds", "1",
		"-conns", "4", "-memconns", "32", dir}, &out)
	if err != nil {
		t.Fatal(err)
	}
	text := out.String()
	t.Log("\n" + text)
	if !strings.Contains(text, "200 messages from "+dir) {
		t.Error("the table does not say which corpus it measured")
	}
	lines := strings.Split(text, "\n")
	header := -1
	for i, l := range lines {
		if strings.Contains(l, "memory/conn") && strings.Contains(l, "cold cpu ns") {
			header = i
		}
	}
	if header < 0 {
		t.Fatal("no table header")
	}
	var rows []string
	for _, l := range lines[header+1:] {
		if strings.TrimSpace(l) == "" {
			break
		}
		rows = append(rows, strings.Join(strings.Fields(l)[:2], " "))
	}
	want := "[9 1 9 5 9 huffman 12 1 12 5 12 huffman 15 1 15 5 15 huffman]"
	if fmt.Sprint(rows) != want {
		t.Errorf("rows %v, want %v", rows, want)
	}
	// The default row compares equal to itself.
	for _, l := range lines[header+1 : header+1+len(rows)] {
		f := strings.Fields(l)
		if f[0] == "12" && f[1] == "5" && (f[4] != "=" || f[6] != "=" || f[len(f)-1] != "1.00x") {
			t.Errorf("the default row is not equal to the defaults: %q", l)
		}
	}
}

// Every number is measured and non-zero, and they order as the settings
// say they must: memory grows with the window, Huffman only keeps no
// sending window, a larger window or a higher level compresses better,
// Huffman only compresses worst.
func TestMeasurementsAreNonZeroAndOrdered(t *testing.T) {
	msgs := corpus.Messages(3, 200)
	bits := []int{9, 12, 15}
	rows, def, err := measureAll(bits, []int{1, 5, 9, compress.HuffmanOnly}, msgs, quick)
	if err != nil {
		t.Fatal(err)
	}
	_, cpuOK := cpuTime()
	at := map[[2]int]result{}
	for _, r := range rows {
		at[[2]int{r.bits, r.level}] = r
		if r.mem <= 0 || r.size <= 0 || r.size >= 1 || r.hot.wall <= 0 || r.cold.wall <= 0 {
			t.Errorf("%d bits, level %d: a number is not measured: %+v", r.bits, r.level, r)
		}
		if cpuOK && (r.hot.cpu <= 0 || r.cold.cpu <= 0) {
			t.Errorf("%d bits, level %d: no CPU time: %+v", r.bits, r.level, r)
		}
	}
	if d := at[[2]int{12, 5}]; d != def {
		t.Errorf("the 12-bit level-5 row %+v is not the defaults %+v", d, def)
	}
	for i, b := range bits[1:] {
		for _, l := range []int{1, 5, 9, compress.HuffmanOnly} {
			lo, hi := at[[2]int{bits[i], l}], at[[2]int{b, l}]
			if hi.mem <= lo.mem {
				t.Errorf("level %d: %d bits keep %.0f bytes, %d bits %.0f: memory must grow with the window", l, b, hi.mem, bits[i], lo.mem)
			}
		}
		// Huffman only keeps the window it receives with, not one to send.
		if h, l5 := at[[2]int{b, compress.HuffmanOnly}], at[[2]int{b, 5}]; l5.mem-h.mem < float64(int(1)<<b)*0.9 {
			t.Errorf("%d bits: Huffman only keeps %.0f bytes, level 5 %.0f: the send window is not saved", b, h.mem, l5.mem)
		}
	}
	size := func(bits, level int) float64 { return at[[2]int{bits, level}].size }
	if !(size(9, 5) > size(12, 5) && size(12, 5) > size(15, 5)) {
		t.Errorf("level 5: sizes %.3f, %.3f, %.3f at 9, 12, 15 bits: a larger window must compress better", size(9, 5), size(12, 5), size(15, 5))
	}
	if !(size(15, 1) > size(15, 5) && size(15, 5) > size(15, 9)) {
		t.Errorf("15 bits: sizes %.3f, %.3f, %.3f at levels 1, 5, 9: a higher level must compress better", size(15, 1), size(15, 5), size(15, 9))
	}
	for _, bits := range bits {
		if size(bits, compress.HuffmanOnly) <= size(bits, 1) {
			t.Errorf("%d bits: Huffman only (%.3f) compresses as well as level 1 (%.3f)", bits, size(bits, compress.HuffmanOnly), size(bits, 1))
		}
	}
}

// The CPU clock advances in steps finer than the scheduler's tick, so
// that a few microseconds of work show up in the times.
func TestCPUClockHasFineSteps(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("nanosecond process CPU time is checked on Linux")
	}
	first, ok := cpuTime()
	if !ok {
		t.Fatal("no process CPU clock")
	}
	for {
		now, _ := cpuTime()
		if d := now - first; d > 0 {
			if d > 100*time.Microsecond {
				t.Fatalf("the CPU clock moved by %v: too coarse", d)
			}
			return
		}
	}
}

// The generated corpus and a dumped directory of it are the same
// messages.
func TestDumpAndLoad(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	if err := run([]string{"-n", "50", "-dump", dir}, &out); err != nil {
		t.Fatal(err)
	}
	got, err := loadMessages(dir, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := corpus.Messages(1, 50)
	if len(got) != len(want) {
		t.Fatalf("%d messages, want %d", len(got), len(want))
	}
	for i := range got {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("message %d differs", i)
		}
	}
	if _, err := loadMessages(t.TempDir(), 0, 0); err == nil {
		t.Error("an empty directory is accepted")
	}
}
