package conformance

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/tetherws/tether/runtime"
	"github.com/tetherws/tether/test/conformance/wire"
)

// Config tunes a run of the suite.
type Config struct {
	// Full runs the 9.x cases at Autobahn's sizes (up to 16 MiB) and counts;
	// otherwise they are scaled down to keep `go test` quick.
	Full bool
	// Timeout is the base of the wait for each expected frame (default
	// 5 s). The wait grows with the data the case has moved so far, and
	// every wait is multiplied under the race detector, so that a slow
	// machine does not fail a correct implementation.
	Timeout time.Duration
	// FailFastWait is how long a fail-fast case waits for the close frame
	// before it concludes the implementation waits for more input
	// (default 2 s; multiplied under the race detector too).
	FailFastWait time.Duration
	// ClientGrace is how long the raw server watches for tether's client
	// closing the TCP connection too early (default 20 ms).
	ClientGrace time.Duration
}

func (c *Config) defaults() *Config {
	out := *c
	if out.Timeout <= 0 {
		out.Timeout = 5 * time.Second
	}
	if out.FailFastWait <= 0 {
		out.FailFastWait = 2 * time.Second
	}
	if out.ClientGrace <= 0 {
		out.ClientGrace = 20 * time.Millisecond
	}
	return &out
}

// Status is the grade of a case.
type Status int

// Grades. There is no non-strict pass.
const (
	OK Status = iota
	Failed
	Skipped
)

func (s Status) String() string {
	switch s {
	case OK:
		return "OK"
	case Failed:
		return "FAILED"
	}
	return "SKIPPED"
}

// Result is the outcome of one case on one side.
type Result struct {
	Case       *Case
	Side       Side
	Status     Status
	Reason     string // why it failed or was skipped
	Transcript string // the last frames exchanged, when it failed
	// Duration is the time the case's traffic took, from the first frame
	// to the last check before the closing handshake.
	Duration time.Duration
}

// maxMessage is the message size limit given to tether (the 9.x cases
// send 16 MiB messages).
const maxMessage = 16 << 20

func tetherOptions() runtime.Options {
	return runtime.Options{
		MaxMessageSize: maxMessage,
		PingInterval:   -1, // no keepalive pings in the middle of a case
		CloseTimeout:   10 * time.Second,
		OpenTimeout:    10 * time.Second,
	}
}

// echo is the testee of Autobahn: it sends back every message.
func echo(ctx context.Context, c *runtime.Conn) {
	for m := range c.Messages() {
		_ = c.Send(ctx, m.Type, m.Data)
		m.Release()
	}
}

// ServerTarget is a running tether echo server.
type ServerTarget struct {
	srv    *runtime.Server
	addr   string
	served chan error
	// Deflate reports whether the server negotiates permessage-deflate
	// (probed once with the plain offer "permessage-deflate").
	Deflate bool
}

// StartServer starts tether's Server with an echo handler on 127.0.0.1:0.
func StartServer() (*ServerTarget, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &ServerTarget{
		srv: &runtime.Server{
			Handler: func(ctx context.Context, c *runtime.Conn) error {
				echo(ctx, c)
				return nil
			},
			Options: runtime.ServerOptions{Options: tetherOptions()},
		},
		addr:   ln.Addr().String(),
		served: make(chan error, 1),
	}
	go func() { s.served <- s.srv.Serve(ln) }()
	s.Deflate = s.probeDeflate()
	return s, nil
}

func (s *ServerTarget) probeDeflate() bool {
	wait := raceScaled(5 * time.Second)
	nc, err := net.DialTimeout("tcp", s.addr, wait)
	if err != nil {
		return false
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(wait))
	_, h, err := wire.ClientHandshake(nc, s.addr, "/", wire.PMDName)
	if err != nil {
		return false
	}
	exts, _ := wire.ParseExtensions(h)
	for _, e := range exts {
		if strings.EqualFold(e.Name, wire.PMDName) {
			return true
		}
	}
	return false
}

// Stop shuts the server down.
func (s *ServerTarget) Stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), raceScaled(15*time.Second))
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if serr := <-s.served; !errors.Is(serr, runtime.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}

// deflateUnavailable is the skip reason while runtime does not negotiate
// permessage-deflate.
const deflateUnavailable = "permessage-deflate is not negotiated by tether's runtime yet (compress/ not wired in)"

// RunServer runs c against tether's server.
func (s *ServerTarget) RunServer(c *Case, cfg *Config) (res Result) {
	cfg = cfg.defaults()
	res = Result{Case: c, Side: ServerSide}
	if c.Deflate != nil && !s.Deflate {
		res.Status, res.Reason = Skipped, deflateUnavailable
		return res
	}
	wait := raceScaled(cfg.Timeout)
	nc, err := net.DialTimeout("tcp", s.addr, wait)
	if err != nil {
		res.Status, res.Reason = Failed, err.Error()
		return res
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(wait))
	offer := ""
	if c.Deflate != nil {
		offer = c.Deflate.Offer
	}
	br, h, err := wire.ClientHandshake(nc, s.addr, "/", offer)
	if err != nil {
		res.Status, res.Reason = Failed, err.Error()
		return res
	}
	_ = nc.SetDeadline(time.Time{})
	var pmd *wire.PMD
	if c.Deflate != nil {
		pmd, err = c.Deflate.checkServerResponse(h)
		if err != nil {
			res.Status, res.Reason = Failed, err.Error()
			return res
		}
	}
	p := newPeer(ServerSide, cfg, nc, wire.Reader{R: br}, pmd)
	runPeer(p, c, &res)
	return res
}

func runPeer(p *Peer, c *Case, res *Result) {
	start := time.Now()
	err := c.Run(p)
	res.Duration = time.Since(start)
	if err == nil && !p.ended {
		err = p.CloseNormally()
	}
	if err != nil {
		res.Status, res.Reason = Failed, err.Error()
		res.Transcript = p.Transcript(8)
	}
}

// ClientRun is a client under test, started by a StartClient: it connects
// to the raw server and echoes every message it receives.
type ClientRun struct {
	Dialed chan error    // receives the outcome of the opening handshake
	Done   chan struct{} // closed when the client has ended
	Abort  func()        // ends the client at once
}

// StartClient starts a client under test that connects to url.
type StartClient func(url string) *ClientRun

// startTether runs tether's Dial and an echo loop, like Autobahn's testee
// client.
func startTether(url string) *ClientRun {
	r := &ClientRun{Dialed: make(chan error, 1), Done: make(chan struct{})}
	var mu sync.Mutex
	var conn *runtime.Conn
	aborted := false
	r.Abort = func() {
		mu.Lock()
		c := conn
		aborted = true
		mu.Unlock()
		if c != nil {
			c.CloseNow()
		}
	}
	go func() {
		defer close(r.Done)
		c, _, err := runtime.Dial(context.Background(), url, &runtime.DialOptions{Options: tetherOptions()})
		r.Dialed <- err
		if err != nil {
			return
		}
		mu.Lock()
		conn = c
		ab := aborted
		mu.Unlock()
		if ab {
			c.CloseNow()
		}
		echo(c.Context(), c)
	}()
	return r
}

// RunClient runs c against tether's client: a raw server listens on
// 127.0.0.1:0, tether's Dial connects to it and echoes every message.
func RunClient(c *Case, cfg *Config) Result {
	return RunClientWith(c, cfg, startTether)
}

// RunClientWith runs c against the client that start starts.
func RunClientWith(c *Case, cfg *Config, start StartClient) (res Result) {
	cfg = cfg.defaults()
	res = Result{Case: c, Side: ClientSide}
	fail := func(format string, args ...any) Result {
		res.Status, res.Reason = Failed, fmt.Sprintf(format, args...)
		return res
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fail("%v", err)
	}
	wait := raceScaled(cfg.Timeout)
	run := start("ws://" + ln.Addr().String() + "/")
	defer func() {
		// Wait for the client to end; abort it if it hangs.
		select {
		case <-run.Done:
			return
		case <-time.After(wait):
		}
		if res.Status == OK {
			res.Status, res.Reason = Failed, "the client did not end after the raw server closed the connection"
		}
		run.Abort()
		<-run.Done
	}()
	_ = ln.(*net.TCPListener).SetDeadline(time.Now().Add(wait))
	nc, err := ln.Accept()
	ln.Close()
	if err != nil {
		return fail("accept: %v", err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(wait))
	br, req, err := wire.ServerHandshake(nc)
	if err != nil {
		return fail("%v", err)
	}
	var pmd *wire.PMD
	respExt := ""
	skip := ""
	if c.Deflate != nil {
		pmd, respExt, skip, err = c.Deflate.answerClient(req.Header)
		if err != nil {
			return fail("%v", err)
		}
	}
	if err := wire.Respond(nc, req, respExt); err != nil {
		return fail("%v", err)
	}
	_ = nc.SetDeadline(time.Time{})
	select {
	case err := <-run.Dialed:
		if err != nil {
			return fail("Dial: %v", err)
		}
	case <-time.After(wait):
		return fail("the client did not finish the opening handshake")
	}
	p := newPeer(ClientSide, cfg, nc, wire.Reader{R: br}, pmd)
	if skip != "" {
		if err := p.CloseNormally(); err != nil {
			return fail("%v", err)
		}
		res.Status, res.Reason = Skipped, skip
		return res
	}
	runPeer(p, c, &res)
	return res
}
