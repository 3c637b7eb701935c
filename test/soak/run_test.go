package soak

import (
	"os"
	"os/exec"
	"testing"
)

// testServer runs the server process as this test binary (see TestMain).
func testServer() *exec.Cmd { return exec.Command(os.Args[0]) }

func TestRunSmallLoadPassesWithEveryEchoInOrder(t *testing.T) {
	const conns, messages = 16, 25
	rep, err := Run(Config{
		Conns: conns, Messages: messages, Window: 4, Size: 96,
		Sources: 2, ShutdownAfter: -1, ServerCommand: testServer,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Pass {
		t.Fatalf("run failed: %q", rep.Failures)
	}
	if rep.Opened != conns || rep.SteadyEchoed != conns*messages || !rep.SteadyComplete {
		t.Fatalf("opened %d, steady echoed %d, complete %v; want %d, %d, true",
			rep.Opened, rep.SteadyEchoed, rep.SteadyComplete, conns, conns*messages)
	}
	if rep.Lost != 0 || rep.Duplicated != 0 || rep.Reordered != 0 || rep.Corrupted != 0 {
		t.Fatalf("lost %d, duplicated %d, reordered %d, corrupted %d; want none",
			rep.Lost, rep.Duplicated, rep.Reordered, rep.Corrupted)
	}
	if rep.ShutdownConns != conns || rep.ShutdownErr != "" || rep.Stuck != 0 {
		t.Fatalf("at Shutdown: %d open, error %q, %d stuck; want %d open, no error, none stuck",
			rep.ShutdownConns, rep.ShutdownErr, rep.Stuck, conns)
	}
	if rep.Pipelined == 0 {
		t.Fatal("no message was pipelined before Shutdown: the last phase did not run")
	}
	if rep.ServerRSSPeakKiB <= 0 || rep.ServerCPUPerMessageUs <= 0 {
		t.Fatalf("server peak RSS %d KiB, CPU per message %v µs: not measured", rep.ServerRSSPeakKiB, rep.ServerCPUPerMessageUs)
	}
}
