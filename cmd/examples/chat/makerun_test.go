//go:build unix

package main

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tetherws/tether"
)

// TestMakeRunStopsCleanlyOnCtrlC runs `make run` as a terminal would, in
// a process group of its own, with a tab connected; Ctrl-C (SIGINT to the
// group) shuts the chat down gracefully, the tab gets 1001, and make
// reports no failed recipe (no "make: *** Error 1", which go run caused:
// it exits with status 1 whenever it is interrupted).
func TestMakeRunStopsCleanlyOnCtrlC(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the chat with make")
	}
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("no make")
	}
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "Makefile")); err != nil {
		t.Skip("no Makefile at the repository root")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "make", "--no-print-directory", "run",
		"RUN_BIN="+filepath.Join(t.TempDir(), "chat"), "RUN_ARGS=-addr=127.0.0.1:0")
	cmd.Dir = root
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	var out []string
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var page string
	for page == "" {
		line, ok := <-lines
		if !ok {
			_ = cmd.Wait()
			t.Fatalf("make run ended before the chat listened:\n%s\n%s", strings.Join(out, "\n"), stderr.String())
		}
		out = append(out, line)
		if _, rest, found := strings.Cut(line, "chat: open "); found {
			page, _, _ = strings.Cut(rest, " ")
		}
	}
	tab := dialChat(t, page, "tab")
	recvEvent(t, tab, "join")

	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGINT); err != nil { // Ctrl-C
		t.Fatal(err)
	}
	for line := range lines {
		out = append(out, line)
	}
	// make itself dies of the SIGINT it got, as it does on any Ctrl-C
	// (a shell shows nothing for that); what must not happen is a failed
	// recipe: an exit status and a "make: ***" line.
	err = cmd.Wait()
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && interrupted(ee)) || strings.Contains(stderr.String(), "***") {
		t.Fatalf("make run after Ctrl-C: %v\n%s\n%s", err, strings.Join(out, "\n"), stderr.String())
	}
	if last := out[len(out)-1]; last != "chat: stopped" {
		t.Fatalf("last line %q, want chat: stopped", last)
	}
	for range tab.Messages() {
	}
	if st := tab.CloseStatus(); st.Code() != tether.CloseGoingAway {
		t.Fatalf("the tab's close: %v, want 1001", st)
	}
}

// interrupted reports a process that died of SIGINT.
func interrupted(ee *exec.ExitError) bool {
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGINT
}
