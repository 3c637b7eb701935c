package soak

import (
	"fmt"
	"syscall"
	"testing"

	tether "github.com/tetherws/tether"
	"github.com/tetherws/tether/runtime"
)

func TestKindOfNamesErrorsWithoutDetails(t *testing.T) {
	cases := []struct {
		err  error
		want string
	}{
		{nil, "none"},
		{tether.ErrClosing, "closing"},
		{fmt.Errorf("soak: tcp: dial 127.0.0.1:1: %w", syscall.ECONNREFUSED), "connection refused"},
		{fmt.Errorf("read: %w", syscall.ECONNRESET), "connection reset"},
		{fmt.Errorf("soak: tcp: %w", syscall.EMFILE), "too many open files"},
		{&tether.CloseError{Sent: &tether.CloseFrame{Code: 1011}}, "closed sent 1011, received none"},
		{&tether.CloseError{Rcvd: &tether.CloseFrame{Code: 1001}, Cause: tether.ErrCloseTimeout}, "close timeout"},
		{fmt.Errorf("x: %w", runtime.ErrUndelivered), "received messages undelivered"},
	}
	for _, c := range cases {
		if got := kindOf(c.err); got != c.want {
			t.Errorf("kindOf(%v) = %q, want %q", c.err, got, c.want)
		}
	}
}

func TestTallyCountsByKeyAndKeepsFirstExample(t *testing.T) {
	var tl tally
	tl.addErr("a", fmt.Errorf("first"))
	tl.addErr("a", fmt.Errorf("second"))
	tl.add("b")
	if got := tl.snapshot(); got["a"] != 2 || got["b"] != 1 || len(got) != 2 {
		t.Fatalf("snapshot = %v, want a:2 b:1", got)
	}
	if ex := tl.example("a"); ex != "first" {
		t.Fatalf("example(a) = %q, want first", ex)
	}
}
