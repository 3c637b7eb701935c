package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"syscall"
	"time"
)

// serverProc is a running benchserver.
type serverProc struct {
	pid    int
	stderr *bytes.Buffer
	exited chan error
	stop   func()
}

// startServer starts benchserver pinned to CPU 0 with args and waits until
// it says READY (15 s at most). stop ends it: SIGTERM, then SIGKILL after
// 5 s.
func startServer(bin string, args ...string) (*serverProc, error) {
	srv := pinned("0", filepath.Join(bin, "benchserver"), args...)
	p := &serverProc{stderr: new(bytes.Buffer), exited: make(chan error, 1)}
	srv.Stderr = p.stderr
	stdout, err := srv.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := srv.Start(); err != nil {
		return nil, err
	}
	p.pid = srv.Process.Pid
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		ok := false
		for sc.Scan() {
			if sc.Text() == "READY" && !ok {
				ok = true
				ready <- true
			}
		}
		if !ok {
			ready <- false
		}
	}()
	go func() { p.exited <- srv.Wait() }()
	stopped := false
	p.stop = func() {
		if stopped {
			return
		}
		stopped = true
		_ = srv.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(5 * time.Second):
			_ = srv.Process.Kill()
			<-p.exited
		}
	}
	select {
	case ok := <-ready:
		if !ok {
			p.stop()
			return nil, fmt.Errorf("server did not start: %s", lastLine(p.stderr.String()))
		}
	case <-time.After(15 * time.Second):
		p.stop()
		return nil, errors.New("server did not start in 15 s")
	}
	return p, nil
}
