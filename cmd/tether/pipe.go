package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"time"

	"github.com/tetherws/tether"
)

// errQuit stops an input reader whose session has ended.
var errQuit = errors.New("tether: input no longer read")

// maxLine bounds an input line; a message is at most 1 MiB by default on
// the server's side anyway.
const maxLine = 16 << 20

// readLines sends the lines of r on ch, without "\n" or "\r\n".
func readLines(r io.Reader, ch chan<- []byte, quit <-chan struct{}) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	for sc.Scan() {
		line := bytes.Clone(bytes.TrimSuffix(sc.Bytes(), []byte("\r")))
		select {
		case ch <- line:
		case <-quit:
			return errQuit
		}
	}
	return sc.Err()
}

// chunkSize is the largest chunk read from standard input with --binary.
const chunkSize = 64 << 10

// readChunks sends each read of r on ch.
func readChunks(r io.Reader, ch chan<- []byte, quit <-chan struct{}) error {
	for {
		buf := make([]byte, chunkSize)
		n, err := r.Read(buf)
		if n > 0 {
			select {
			case ch <- buf[:n]:
			case <-quit:
				return errQuit
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// pipe runs a non-interactive session: stdin's lines (or chunks) are
// messages, then it waits for more messages as --wait says and closes.
func (s *session) pipe(ctx context.Context, stdin io.Reader) int {
	go s.receive()
	in := make(chan []byte)
	readErr := make(chan error, 1)
	quit := make(chan struct{})
	defer close(quit) // stdin may stay open: stop its reader
	go readInput(stdin, s.cfg.binary, in, readErr, quit)
	tick, stop := s.ticker()
	defer stop()

	for in != nil {
		select {
		case data, ok := <-in:
			if !ok {
				if err := <-readErr; err != nil {
					s.rep.notice("reading input: %v", err)
				}
				in = nil
				break
			}
			s.send(data, s.cfg.binary)
		case <-tick:
			s.ping(nil, true)
		case <-ctx.Done():
			_ = s.conn.Close(tether.CloseNormal, "")
			return s.end()
		case <-s.received:
			return s.end()
		}
	}
	s.drain(ctx, tick)
	_ = s.conn.Close(tether.CloseNormal, "")
	return s.end()
}

// drain waits after the end of input until the server closes, ctx ends,
// or --wait passes without a message (never with a negative --wait).
func (s *session) drain(ctx context.Context, tick <-chan time.Time) {
	if s.cfg.wait == 0 {
		return
	}
	var quiet <-chan time.Time
	var timer *time.Timer
	if s.cfg.wait > 0 {
		timer = time.NewTimer(s.cfg.wait)
		defer timer.Stop()
		quiet = timer.C
	}
	for {
		select {
		case <-s.activity:
			if timer != nil {
				timer.Reset(s.cfg.wait)
			}
		case <-tick:
			s.ping(nil, true)
		case <-quiet:
			return
		case <-ctx.Done():
			return
		case <-s.received:
			return
		}
	}
}
