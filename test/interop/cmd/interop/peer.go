package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is a peer script run as a child process, its stdout read as JSON
// lines.
type proc struct {
	name   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan line // closed at EOF of stdout
	stderr *lockedBuffer
	waited chan struct{}
	err    error // from Wait, valid after waited is closed
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// tail returns the last n bytes written, on one line.
func (b *lockedBuffer) tail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.String()
	if len(s) > n {
		s = "…" + s[len(s)-n:]
	}
	return strings.Join(strings.Fields(s), " ")
}

// startProc starts argv in its own process group; ctx ending sends
// SIGTERM to that group (and SIGKILL after a grace period).
func startProc(ctx context.Context, name string, verbose bool, env []string, argv ...string) (*proc, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	p := &proc{name: name, cmd: cmd, lines: make(chan line, 256), stderr: &lockedBuffer{}, waited: make(chan struct{})}
	if verbose {
		cmd.Stderr = io.MultiWriter(p.stderr, prefixWriter{name, os.Stderr})
	} else {
		cmd.Stderr = p.stderr
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	go func() {
		defer close(p.lines)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			raw := sc.Bytes()
			if verbose {
				fmt.Fprintf(os.Stderr, "[%s] %s\n", name, raw)
			}
			var l line
			if err := json.Unmarshal(raw, &l); err != nil {
				_, _ = fmt.Fprintf(p.stderr, "stdout: %s\n", raw)
				continue
			}
			p.lines <- l
		}
	}()
	go func() {
		// Wait closes stdout after the copy above has seen EOF.
		p.err = cmd.Wait()
		close(p.waited)
	}()
	return p, nil
}

// stop closes the script's stdin (peer servers exit on it) and waits for
// it to exit; the script's ctx bounds the wait.
func (p *proc) stop() error {
	_ = p.stdin.Close()
	<-p.waited
	return p.err
}

// failure describes how the script ended, for rows it did not report.
func (p *proc) failure(fatal string) string {
	var parts []string
	if fatal != "" {
		parts = append(parts, fatal)
	}
	select {
	case <-p.waited:
		if p.err != nil {
			parts = append(parts, p.name+": "+p.err.Error())
		}
	default:
	}
	if t := p.stderr.tail(300); t != "" {
		parts = append(parts, "stderr: "+t)
	}
	if len(parts) == 0 {
		return "no result from " + p.name
	}
	return "no result: " + strings.Join(parts, "; ")
}

type prefixWriter struct {
	prefix string
	w      io.Writer
}

func (pw prefixWriter) Write(p []byte) (int, error) {
	for _, l := range strings.SplitAfter(string(p), "\n") {
		if l != "" {
			if _, err := fmt.Fprintf(pw.w, "[%s] %s", pw.prefix, l); err != nil {
				return 0, err
			}
		}
	}
	return len(p), nil
}

// peerServer is a peer's WebSocket server script: its URLs, and the
// records of what it saw, from its "closed" events.
type peerServer struct {
	*proc
	url, originURL, version string
	reg                     *registry
}

func startPeerServer(ctx context.Context, name string, verbose bool, env []string, argv ...string) (*peerServer, error) {
	p, err := startProc(ctx, name, verbose, env, argv...)
	if err != nil {
		return nil, err
	}
	ps := &peerServer{proc: p, reg: newRegistry()}
	ready := make(chan line, 1)
	go func() {
		for l := range p.lines {
			switch l.Event {
			case "listening":
				ready <- l
			case "closed":
				rec := ps.reg.get(l.ID)
				rec.mu.Lock()
				rec.peerCode = l.Code
				if l.Reason != nil {
					rec.peerReason = *l.Reason
				}
				rec.mu.Unlock()
				rec.finish()
			}
		}
		close(ready)
	}()
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	select {
	case l, ok := <-ready:
		if !ok {
			<-p.waited
			return nil, errors.New(p.failure("server exited before listening"))
		}
		ps.url, ps.originURL, ps.version = l.URL, l.OriginURL, l.Version
		return ps, nil
	case <-tctx.Done():
		_ = p.stop()
		return nil, errors.New(p.failure("server did not listen within 30 s"))
	}
}
