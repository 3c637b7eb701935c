package main

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// vt renders what a program wrote to a terminal, as far as tether's
// interactive mode needs: printable characters, CR, LF, backspace, cursor
// moves (ESC [ n A/B/C/D) and erasing to the end of the line (ESC [ K).
// Other escape sequences are skipped. Lines are never wrapped: tests use a
// terminal wider than anything they print.
type vt struct {
	lines    [][]rune
	row, col int
}

// render returns the screen after out, one string per line with
// trailing spaces removed, and the cursor position.
func render(out string) (lines []string, row, col int) {
	v := &vt{lines: [][]rune{nil}}
	b := []byte(out)
	for len(b) > 0 {
		if b[0] == 0x1b {
			b = v.escape(b)
			continue
		}
		r, n := utf8.DecodeRune(b)
		b = b[n:]
		switch r {
		case '\r':
			v.col = 0
		case '\n':
			v.move(1, 0)
		case '\b':
			v.move(0, -1)
		case '\a':
		default:
			v.put(r)
		}
	}
	for _, l := range v.lines {
		lines = append(lines, strings.TrimRight(string(l), " "))
	}
	return lines, v.row, v.col
}

// escape interprets the escape sequence at the start of b and returns the
// rest.
func (v *vt) escape(b []byte) []byte {
	if len(b) < 2 || b[1] != '[' {
		return b[min(len(b), 2):]
	}
	i := 2
	for i < len(b) && (b[i] >= '0' && b[i] <= '9' || b[i] == ';' || b[i] == '?') {
		i++
	}
	if i == len(b) {
		return nil
	}
	n, err := strconv.Atoi(string(b[2:i]))
	if err != nil || n == 0 {
		n = 1
	}
	switch b[i] {
	case 'A':
		v.move(-n, 0)
	case 'B':
		v.move(n, 0)
	case 'C':
		v.move(0, n)
	case 'D':
		v.move(0, -n)
	case 'K':
		if v.col < len(v.lines[v.row]) {
			v.lines[v.row] = v.lines[v.row][:v.col]
		}
	}
	return b[i+1:]
}

func (v *vt) move(down, right int) {
	v.row = max(v.row+down, 0)
	v.col = max(v.col+right, 0)
	for len(v.lines) <= v.row {
		v.lines = append(v.lines, nil)
	}
}

func (v *vt) put(r rune) {
	l := v.lines[v.row]
	for len(l) <= v.col {
		l = append(l, ' ')
	}
	l[v.col] = r
	v.lines[v.row] = l
	v.col++
}
