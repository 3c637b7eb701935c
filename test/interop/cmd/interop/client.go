package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/tetherws/tether/runtime"
	"github.com/tetherws/tether/ws"
)

func dialOptions() *runtime.DialOptions {
	o := &runtime.DialOptions{}
	o.MaxMessageSize = maxMessageSize
	return o
}

// recv returns the next message, or why there is none.
func recv(ctx context.Context, c *runtime.Conn) (runtime.Message, error) {
	select {
	case m, ok := <-c.Messages():
		if !ok {
			return m, fmt.Errorf("connection ended: %v", c.Err())
		}
		return m, nil
	case <-ctx.Done():
		return runtime.Message{}, fmt.Errorf("no message: %w", ctx.Err())
	}
}

func roundtrip(ctx context.Context, c *runtime.Conn, typ ws.Opcode, data []byte) (bool, string) {
	if err := c.Send(ctx, typ, data); err != nil {
		return false, "send: " + err.Error()
	}
	m, err := recv(ctx, c)
	if err != nil {
		return false, err.Error()
	}
	defer m.Release()
	if m.Type != typ {
		return false, fmt.Sprintf("echo is %v, want %v", m.Type, typ)
	}
	if !bytes.Equal(m.Data, data) {
		return false, fmt.Sprintf("echo differs: %d bytes, want %d", len(m.Data), len(data))
	}
	return true, fmt.Sprintf("%d bytes echoed intact", len(data))
}

// deflateVerdict judges a negotiated Sec-WebSocket-Extensions header.
func deflateVerdict(header string, wired bool, offered string) (bool, string) {
	switch {
	case strings.Contains(header, "permessage-deflate") && !strings.Contains(header, "no_context_takeover"):
		return true, fmt.Sprintf("Sec-WebSocket-Extensions: %s", header)
	case strings.Contains(header, "permessage-deflate"):
		return false, fmt.Sprintf("negotiated without context takeover: Sec-WebSocket-Extensions: %s", header)
	case !wired:
		return false, fmt.Sprintf("tether compression not wired yet (offered %q, answered %q)", offered, header)
	}
	return false, fmt.Sprintf("permessage-deflate not negotiated (offered %q, answered %q)", offered, header)
}

func closeFrame(f *ws.CloseFrame) string {
	if f == nil {
		return "none"
	}
	return fmt.Sprintf("%d %q", f.Code, f.Reason)
}

// clientSuite runs tether's client against a peer's server.
type clientSuite struct {
	peer  string
	srv   *peerServer
	wired bool
	out   []result
}

func (s *clientSuite) add(check string, ok bool, detail string) {
	s.out = append(s.out, result{Peer: s.peer, Direction: tetherToPeer, Check: check, OK: ok, Detail: detail})
}

// run runs fn as one check bounded by 30 s; fn's error fails the check.
func (s *clientSuite) run(ctx context.Context, check string, fn func(ctx context.Context) (bool, string, error)) {
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	ok, detail, err := fn(cctx)
	if err != nil {
		ok, detail = false, err.Error()
	}
	s.add(check, ok, detail)
}

func (s *clientSuite) dial(ctx context.Context, path string, o *runtime.DialOptions) (*runtime.Conn, *http.Response, error) {
	if o == nil {
		o = dialOptions()
	}
	c, resp, err := runtime.Dial(ctx, s.srv.url+path, o)
	if err != nil {
		return nil, resp, fmt.Errorf("dial %s: %w", path, err)
	}
	return c, resp, nil
}

func (s *clientSuite) runAll(ctx context.Context, peerCanPing bool) []result {
	main, resp, err := s.dial(ctx, "/echo?id=tether-main", nil)
	if err != nil {
		for _, name := range checkNames(peerCanPing) {
			s.add(name, false, err.Error())
		}
		return s.out
	}
	defer main.CloseNow()
	data := func(check string, typ ws.Opcode, b []byte) {
		s.run(ctx, check, func(ctx context.Context) (bool, string, error) {
			ok, d := roundtrip(ctx, main, typ, b)
			return ok, d, nil
		})
	}
	data("text/ascii", ws.OpText, []byte(textASCII))
	data("text/multibyte", ws.OpText, []byte(textMultibyte))
	for _, n := range binarySizes {
		data(binaryName(n), ws.OpBinary, binary(n))
	}
	s.run(ctx, fmt.Sprintf("sequence/%d", sequenceLen), func(ctx context.Context) (bool, string, error) {
		g, gctx := errgroup.WithContext(ctx)
		g.Go(func() error {
			for i := range sequenceLen {
				if err := main.SendText(gctx, fmt.Sprintf("seq %d", i)); err != nil {
					return fmt.Errorf("send %d: %w", i, err)
				}
			}
			return nil
		})
		var bad string
		g.Go(func() error {
			for i := range sequenceLen {
				m, err := recv(gctx, main)
				if err != nil {
					return fmt.Errorf("message %d: %w", i, err)
				}
				if got, want := m.Text(), fmt.Sprintf("seq %d", i); got != want && bad == "" {
					bad = fmt.Sprintf("message %d: got %q, want %q", i, got, want)
				}
				m.Release()
			}
			return nil
		})
		if err := g.Wait(); err != nil {
			return false, "", err
		}
		if bad != "" {
			return false, bad, nil
		}
		return true, fmt.Sprintf("%d messages echoed in order", sequenceLen), nil
	})
	s.run(ctx, "deflate", func(ctx context.Context) (bool, string, error) {
		header := resp.Header.Get("Sec-WebSocket-Extensions")
		offered := resp.Request.Header.Get("Sec-WebSocket-Extensions")
		for i := range deflateCount {
			if ok, d := roundtrip(ctx, main, ws.OpText, []byte(deflateText(i))); !ok {
				return false, fmt.Sprintf("message %d: %s", i, d), nil
			}
		}
		ok, d := deflateVerdict(header, s.wired, offered)
		return ok, d, nil
	})
	s.run(ctx, "ping/tether→peer", func(ctx context.Context) (bool, string, error) {
		lat, err := main.Ping(ctx, []byte("tether-ping"))
		if err != nil {
			return false, "", err
		}
		return true, fmt.Sprintf("pong after %v", lat), nil
	})
	if peerCanPing {
		s.run(ctx, "ping/peer→tether", func(ctx context.Context) (bool, string, error) {
			if err := main.SendText(ctx, "cmd:ping"); err != nil {
				return false, "", err
			}
			m, err := recv(ctx, main)
			if err != nil {
				return false, "", err
			}
			reply := m.Text()
			return strings.HasPrefix(reply, "ping-ok"), s.peer + " server: " + reply, nil
		})
	}
	_ = main.Close(ws.CloseNormal, "")

	s.run(ctx, "subprotocol", func(ctx context.Context) (bool, string, error) {
		o := dialOptions()
		o.Subprotocols = subprotocolsTetherClient
		c, _, err := s.dial(ctx, "/proto?id=tether-proto", o)
		if err != nil {
			return false, "", err
		}
		defer c.CloseNow()
		if err := c.SendText(ctx, "cmd:info"); err != nil {
			return false, "", err
		}
		m, err := recv(ctx, c)
		if err != nil {
			return false, "", err
		}
		var info struct{ Subprotocol string }
		if err := json.Unmarshal(m.Data, &info); err != nil {
			return false, "", fmt.Errorf("cmd:info reply %q: %w", m.Data, err)
		}
		_ = c.Close(ws.CloseNormal, "")
		ok := c.Subprotocol() == subprotocolExpected && info.Subprotocol == subprotocolExpected
		return ok, fmt.Sprintf("offered %s to server list %s; tether got %q, %s chose %q",
			strings.Join(subprotocolsTetherClient, ","), strings.Join(subprotocolsServer, ","), c.Subprotocol(), s.peer, info.Subprotocol), nil
	})

	s.run(ctx, "close/peer-initiated", func(ctx context.Context) (bool, string, error) {
		const id = "tether-close-peer"
		c, _, err := s.dial(ctx, "/echo?id="+id, nil)
		if err != nil {
			return false, "", err
		}
		defer c.CloseNow()
		if err := c.SendText(ctx, fmt.Sprintf("cmd:close:%d:%s", closePeerCode, closePeerReason)); err != nil {
			return false, "", err
		}
		select {
		case <-c.Done():
		case <-ctx.Done():
			return false, "", fmt.Errorf("connection did not end: %w", ctx.Err())
		}
		cs := c.CloseStatus()
		rec := s.srv.reg.get(id)
		if err := rec.wait(ctx); err != nil {
			return false, "", err
		}
		rec.mu.Lock()
		peerCode, peerReason := rec.peerCode, rec.peerReason
		rec.mu.Unlock()
		ok := cs.Rcvd != nil && cs.Rcvd.Code == closePeerCode && cs.Rcvd.Reason == closePeerReason &&
			peerCode != nil && *peerCode == closePeerCode
		return ok, fmt.Sprintf("%s sent %d %q; tether received %s, sent %s; %s got back %s",
			s.peer, closePeerCode, closePeerReason, closeFrame(cs.Rcvd), closeFrame(cs.Sent), s.peer, codeReason(peerCode, peerReason)), nil
	})

	s.run(ctx, "close/tether-initiated", func(ctx context.Context) (bool, string, error) {
		const id = "tether-close-tether"
		c, _, err := s.dial(ctx, "/echo?id="+id, nil)
		if err != nil {
			return false, "", err
		}
		defer c.CloseNow()
		if err := c.Close(closeTetherCode, closeTetherReason); err != nil {
			return false, "", err
		}
		cs := c.CloseStatus()
		rec := s.srv.reg.get(id)
		if err := rec.wait(ctx); err != nil {
			return false, "", err
		}
		rec.mu.Lock()
		peerCode, peerReason := rec.peerCode, rec.peerReason
		rec.mu.Unlock()
		ok := cs.Sent != nil && cs.Sent.Code == closeTetherCode && cs.Sent.Reason == closeTetherReason && cs.Rcvd != nil &&
			peerCode != nil && *peerCode == closeTetherCode && peerReason == closeTetherReason
		return ok, fmt.Sprintf("%s received %s; tether sent %s, got back %s",
			s.peer, codeReason(peerCode, peerReason), closeFrame(cs.Sent), closeFrame(cs.Rcvd)), nil
	})

	s.run(ctx, "origin/rejected", func(ctx context.Context) (bool, string, error) {
		o := dialOptions()
		o.Origin = originBad
		c, _, err := runtime.Dial(ctx, s.srv.originURL+"?id=tether-origin-bad", o)
		if err == nil {
			c.CloseNow()
			return false, fmt.Sprintf("Origin %s was accepted", originBad), nil
		}
		var se *ws.StatusError
		if !errors.As(err, &se) {
			return false, fmt.Sprintf("Origin %s: %v (want an HTTP 403 answer)", originBad, err), nil
		}
		o.Origin = originAllowed
		good, _, gerr := runtime.Dial(ctx, s.srv.originURL+"?id=tether-origin-ok", o)
		if gerr != nil {
			return false, fmt.Sprintf("Origin %s: HTTP %d; Origin %s: %v", originBad, se.StatusCode(), originAllowed, gerr), nil
		}
		_ = good.Close(ws.CloseNormal, "")
		return se.StatusCode() == http.StatusForbidden,
			fmt.Sprintf("Origin %s: HTTP %d (%s); Origin %s: accepted", originBad, se.StatusCode(), err, originAllowed), nil
	})
	return s.out
}

func codeReason(code *int, reason string) string {
	if code == nil {
		return "no close code"
	}
	return fmt.Sprintf("%d %q", *code, reason)
}
