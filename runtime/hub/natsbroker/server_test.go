package natsbroker_test

import (
	"bufio"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// natsServer is a nats-server subprocess on loopback.
type natsServer struct {
	bin  string
	port string // "" until the first start picks one
	URL  string

	cmd    *exec.Cmd
	logged chan struct{} // closed when its stderr is drained
	log    *strings.Builder
	mu     sync.Mutex
}

var listening = regexp.MustCompile(`Listening for client connections on 127\.0\.0\.1:(\d+)`)

// startNATS runs nats-server on 127.0.0.1 (a port of the kernel's choice)
// and stops it when the test ends. It skips the test when nats-server is
// not installed.
func startNATS(t *testing.T) *natsServer {
	t.Helper()
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		t.Skip("nats-server is not installed (apt-get install nats-server): skipping the NATS integration test")
	}
	s := &natsServer{bin: bin}
	s.start(t)
	t.Cleanup(s.stop)
	return s
}

// start runs the server and waits (at most 10 s) until it is ready. The
// first start listens on a port the kernel picks (-p -1) and keeps it, so
// that a restart comes back at the same address.
func (s *natsServer) start(t *testing.T) {
	t.Helper()
	port := s.port
	if port == "" {
		port = "-1"
	}
	cmd := exec.Command(s.bin, "-a", "127.0.0.1", "-p", port)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start nats-server: %v", err)
	}
	ready := make(chan string, 1)
	logged := make(chan struct{})
	log := new(strings.Builder)
	go func() {
		defer close(logged)
		sc := bufio.NewScanner(stderr)
		var addrPort string
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			log.WriteString(line + "\n")
			s.mu.Unlock()
			if m := listening.FindStringSubmatch(line); m != nil {
				addrPort = m[1]
			}
			if strings.Contains(line, "Server is ready") {
				ready <- addrPort
			}
		}
	}()
	s.cmd, s.logged, s.log = cmd, logged, log
	select {
	case p := <-ready:
		if p == "" {
			s.stop()
			t.Fatalf("nats-server did not say its port:\n%s", s.output())
		}
		s.port = p
		s.URL = "nats://127.0.0.1:" + p
	case <-logged:
		s.stop()
		t.Fatalf("nats-server exited:\n%s", s.output())
	case <-time.After(10 * time.Second):
		s.stop()
		t.Fatalf("nats-server not ready within 10s:\n%s", s.output())
	}
}

// stop kills the server and waits for it to exit. Stopping a stopped
// server does nothing.
func (s *natsServer) stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.logged
	_ = s.cmd.Wait()
	s.cmd = nil
}

// restart kills the server and starts a new one on the same port.
func (s *natsServer) restart(t *testing.T) {
	t.Helper()
	s.stop()
	s.start(t)
}

func (s *natsServer) output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fmt.Sprint(s.log)
}
