package soak

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"time"
)

// serverProc is the driver's handle on the server process: it sends
// commands and reads the answers, one at a time.
type serverProc struct {
	cmd   *exec.Cmd
	in    io.WriteCloser
	out   *json.Decoder
	hello serverHello

	mu sync.Mutex // one command at a time
}

// startServer starts the server process and reads its hello.
func startServer(c Config) (*serverProc, error) {
	sc, err := json.Marshal(serverConfig{
		NoCompression:   c.NoCompression,
		PingInterval:    c.PingInterval,
		PingTimeout:     c.PingTimeout,
		ShutdownTimeout: c.ShutdownTimeout,
		LogLevel:        c.LogLevel,
	})
	if err != nil {
		return nil, fmt.Errorf("soak: server configuration: %w", err)
	}
	cmd := c.ServerCommand()
	cmd.Env = append(os.Environ(), ServerEnv+"="+string(sc))
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("soak: server process: %w", err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("soak: server process: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("soak: starting the server process: %w", err)
	}
	p := &serverProc{cmd: cmd, in: in, out: json.NewDecoder(bufio.NewReader(out))}
	if err := p.out.Decode(&p.hello); err != nil {
		p.kill()
		return nil, fmt.Errorf("soak: reading the server's address: %w", err)
	}
	if p.hello.Err != "" {
		p.kill()
		return nil, fmt.Errorf("soak: server process: %s", p.hello.Err)
	}
	return p, nil
}

// request sends one command and decodes its answer into v.
func (p *serverProc) request(cmd string, v any) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, err := io.WriteString(p.in, cmd+"\n"); err != nil {
		return fmt.Errorf("soak: server command %s: %w", cmd, err)
	}
	if err := p.out.Decode(v); err != nil {
		return fmt.Errorf("soak: server answer to %s: %w", cmd, err)
	}
	return nil
}

// stats asks the server for its figures.
func (p *serverProc) stats() (serverStats, error) {
	var s serverStats
	if err := p.request("stats", &s); err != nil {
		return s, err
	}
	if s.Err != "" {
		return s, fmt.Errorf("soak: server stats: %s", s.Err)
	}
	return s, nil
}

// shutdown makes the server call Server.Shutdown and returns what it took.
func (p *serverProc) shutdown() (shutdownResult, error) {
	var r shutdownResult
	err := p.request("shutdown", &r)
	return r, err
}

// quit ends the server process: it waits up to grace for it to exit on
// its own, then kills it.
func (p *serverProc) quit(grace time.Duration) error {
	p.mu.Lock()
	_, _ = io.WriteString(p.in, "quit\n")
	_ = p.in.Close()
	p.mu.Unlock()
	exited := make(chan error, 1)
	go func() { exited <- p.cmd.Wait() }()
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case err := <-exited:
		if err != nil {
			return fmt.Errorf("soak: server process: %w", err)
		}
		return nil
	case <-t.C:
		_ = p.cmd.Process.Kill()
		<-exited
		return errors.New("soak: the server process did not exit; killed")
	}
}

// kill ends the server process at once.
func (p *serverProc) kill() {
	_ = p.in.Close()
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
}
