package main

import (
	"bufio"
	"compress/flate"
	"context"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"sync"

	coder "github.com/coder/websocket"
	gobwas "github.com/gobwas/ws"
	"github.com/gobwas/ws/wsflate"
	"github.com/gobwas/ws/wsutil"
	gorilla "github.com/gorilla/websocket"
	"github.com/lxzan/gws"

	"github.com/tetherws/tether"
	"github.com/tetherws/tether/runtime"
)

// tether: runtime.Server with the default options (UTF-8 validation,
// keepalive, limits); the echo handler is the README's Quick Start,
// verbatim (a test holds them equal): it ranges over Messages and sends
// each message back with SendMessage, and never calls Release; broadcast
// with runtime.Broadcast (validate and frame once, skip slow clients).
// Compression is whatever the runtime negotiates by default.
func tetherServer(bcast bool) func(net.Listener) error {
	return tetherServerWith(bcast, echo)
}

// tetherServerWith is tetherServer with echoing handler h.
func tetherServerWith(bcast bool, h runtime.Handler) func(net.Listener) error {
	var reg registry[*runtime.Conn]
	handler := h
	if bcast {
		handler = func(ctx context.Context, c *runtime.Conn) error {
			reg.add(c)
			defer reg.remove(c)
			for m := range c.Messages() {
				reg.all(func(conns []*runtime.Conn) { _ = runtime.Broadcast(ctx, conns, m.Type, m.Data) })
				m.Release()
			}
			return nil
		}
	}
	srv := &runtime.Server{Handler: handler}
	srv.Options.MaxMessageSize = maxMessage
	return srv.Serve
}

// echo is the README's Quick Start handler.
func echo(ctx context.Context, c *tether.Conn) error {
	for msg := range c.Messages() { // closed when the connection ends
		if err := c.SendMessage(ctx, msg); err != nil {
			return err
		}
	}
	return nil // the connection is closed with 1000
}

// echoReleasing is echo that hands each message's memory back once it is
// sent (Message.Release): the row beside the Quick Start that shows what
// the Quick Start's kept messages cost.
func echoReleasing(ctx context.Context, c *tether.Conn) error {
	for msg := range c.Messages() {
		err := c.SendMessage(ctx, msg)
		msg.Release()
		if err != nil {
			return err
		}
	}
	return nil
}

// gorilla: examples/echo (Upgrader, ReadMessage/WriteMessage) with a read
// limit; compression through EnableCompression (no context takeover is
// all it has); broadcast through PreparedMessage. No UTF-8 validation.
func gorillaServer(bcast, comp bool) func(net.Listener) error {
	up := gorilla.Upgrader{EnableCompression: comp}
	var reg registry[*gorilla.Conn]
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		c.SetReadLimit(maxMessage)
		if bcast {
			reg.add(c)
			defer reg.remove(c)
		}
		for {
			mt, msg, err := c.ReadMessage()
			if err != nil {
				return
			}
			if bcast {
				pm, err := gorilla.NewPreparedMessage(mt, msg)
				if err != nil {
					return
				}
				reg.each(func(o *gorilla.Conn) { _ = o.WritePreparedMessage(pm) })
				continue
			}
			if err := c.WriteMessage(mt, msg); err != nil {
				return
			}
		}
	})
	return func(ln net.Listener) error { return http.Serve(ln, h) }
}

// coder: Accept, then the library's own echo loop (wstest.EchoLoop:
// Reader, Writer, io.CopyBuffer), with the copy buffer pooled so that idle
// connections hold none. No UTF-8 validation.
func coderServer(bcast, comp, ctxTakeover bool) func(net.Listener) error {
	opts := &coder.AcceptOptions{}
	if comp {
		opts.CompressionMode = coder.CompressionNoContextTakeover
		if ctxTakeover {
			opts.CompressionMode = coder.CompressionContextTakeover
		}
	}
	bufs := sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}
	var reg registry[*coder.Conn]
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := coder.Accept(w, r, opts)
		if err != nil {
			return
		}
		defer c.CloseNow()
		c.SetReadLimit(maxMessage)
		ctx := r.Context()
		if bcast {
			reg.add(c)
			defer reg.remove(c)
			for {
				typ, msg, err := c.Read(ctx)
				if err != nil {
					return
				}
				reg.each(func(o *coder.Conn) { _ = o.Write(ctx, typ, msg) })
			}
		}
		for {
			typ, rd, err := c.Reader(ctx)
			if err != nil {
				return
			}
			wr, err := c.Writer(ctx, typ)
			if err != nil {
				return
			}
			b := bufs.Get().(*[]byte)
			_, err = io.CopyBuffer(wr, rd, *b)
			bufs.Put(b)
			if err != nil {
				return
			}
			if err := wr.Close(); err != nil {
				return
			}
		}
	})
	return func(ln net.Listener) error { return http.Serve(ln, h) }
}

// gobwas: the README's helper example (UpgradeHTTP, then
// wsutil.ReadClientData / WriteServerMessage on the raw connection), with
// wsutil.SetMaxMessageSize; UTF-8 is checked by the helpers (default on
// in v1.5.0). Compression: the README's wsflate + wsutil example
// (DefaultParameters: no context takeover, stdlib flate level 9), which
// cannot check UTF-8 (the reader would check compressed bytes).
func gobwasServer(bcast, comp bool) func(net.Listener) error {
	wsutil.SetMaxMessageSize(maxMessage)
	type gconn struct {
		nc net.Conn
		mu sync.Mutex
	}
	var reg registry[*gconn]
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if comp {
			e := wsflate.Extension{Parameters: wsflate.DefaultParameters}
			conn, _, _, err := gobwas.HTTPUpgrader{Negotiate: e.Negotiate}.Upgrade(r, w)
			if err != nil {
				return
			}
			go gobwasDeflateEcho(conn)
			return
		}
		conn, _, _, err := gobwas.UpgradeHTTP(r, w)
		if err != nil {
			return
		}
		go func() {
			defer conn.Close()
			gc := &gconn{nc: conn}
			if bcast {
				reg.add(gc)
				defer reg.remove(gc)
			}
			for {
				msg, op, err := wsutil.ReadClientData(conn)
				if err != nil {
					return
				}
				if bcast {
					reg.each(func(o *gconn) {
						o.mu.Lock()
						_ = wsutil.WriteServerMessage(o.nc, op, msg)
						o.mu.Unlock()
					})
					continue
				}
				if err := wsutil.WriteServerMessage(conn, op, msg); err != nil {
					return
				}
			}
		}()
	})
	return func(ln net.Listener) error { return http.Serve(ln, h) }
}

func gobwasDeflateEcho(conn net.Conn) {
	defer conn.Close()
	fr := wsflate.NewReader(nil, func(r io.Reader) wsflate.Decompressor {
		return flate.NewReader(r)
	})
	fw := wsflate.NewWriter(nil, func(w io.Writer) wsflate.Compressor {
		f, _ := flate.NewWriter(w, 9)
		return f
	})
	var msg wsflate.MessageState
	state := gobwas.StateServerSide | gobwas.StateExtended
	rd := &wsutil.Reader{
		Source:         conn,
		State:          state,
		Extensions:     []wsutil.RecvExtension{&msg},
		MaxMessageSize: maxMessage,
	}
	wr := wsutil.NewWriter(conn, state, 0)
	wr.SetExtensions(&msg)
	control := wsutil.ControlFrameHandler(conn, gobwas.StateServerSide)
	for {
		h, err := rd.NextFrame()
		if err != nil {
			return
		}
		if h.OpCode.IsControl() {
			if err := control(h, rd); err != nil {
				return
			}
			continue
		}
		wr.ResetOp(h.OpCode)
		if !msg.IsCompressed() {
			if _, err := io.Copy(wr, rd); err != nil {
				return
			}
		} else {
			fr.Reset(rd)
			fw.Reset(wr)
			if _, err := io.Copy(fw, fr); err != nil {
				return
			}
			if err := fw.Close(); err != nil {
				return
			}
		}
		if err := wr.Flush(); err != nil {
			return
		}
	}
}

// gws: the README's "Best Practice" (NewUpgrader on net/http, ReadLoop in
// a goroutine, Recovery) with CheckUtf8Enabled and a read limit.
// ParallelEnabled stays off: it runs the messages of one connection in
// parallel, and an echo must keep their order. Compression through
// PermessageDeflate, with context takeover both ways in ctx mode;
// broadcast through Broadcaster.
func gwsServer(bcast, comp, ctxTakeover bool) func(net.Listener) error {
	h := &gwsHandler{bcast: bcast}
	up := gws.NewUpgrader(h, &gws.ServerOption{
		Recovery:           gws.Recovery,
		CheckUtf8Enabled:   true,
		ReadMaxPayloadSize: maxMessage,
		PermessageDeflate: gws.PermessageDeflate{
			Enabled:               comp,
			ServerContextTakeover: ctxTakeover,
			ClientContextTakeover: ctxTakeover,
		},
	})
	hh := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := up.Upgrade(w, r)
		if err != nil {
			return
		}
		go s.ReadLoop()
	})
	return func(ln net.Listener) error { return http.Serve(ln, hh) }
}

type gwsHandler struct {
	gws.BuiltinEventHandler
	bcast bool
	reg   registry[*gws.Conn]
}

func (h *gwsHandler) OnOpen(s *gws.Conn) {
	if h.bcast {
		h.reg.add(s)
	}
}

func (h *gwsHandler) OnClose(s *gws.Conn, err error) {
	if h.bcast {
		h.reg.remove(s)
	}
}

func (h *gwsHandler) OnMessage(s *gws.Conn, m *gws.Message) {
	defer m.Close()
	if h.bcast {
		// The broadcaster writes asynchronously: it must own its payload.
		b := gws.NewBroadcaster(m.Opcode, append([]byte(nil), m.Bytes()...))
		h.reg.each(func(o *gws.Conn) { _ = b.Broadcast(o) })
		_ = b.Close()
		return
	}
	_ = s.WriteMessage(m.Opcode, m.Bytes())
}

// raw: the physical limit. Length-prefixed messages (4-byte big-endian
// length, then the payload) over TCP, read through a 16 KiB buffer (the
// size of tether's read buffer) into one reused buffer and written back
// with one write.
func rawServer(bcast bool) func(net.Listener) error {
	type rconn struct {
		nc net.Conn
		mu sync.Mutex
	}
	var reg registry[*rconn]
	return func(ln net.Listener) error {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return err
			}
			go func() {
				defer nc.Close()
				rc := &rconn{nc: nc}
				if bcast {
					reg.add(rc)
					defer reg.remove(rc)
				}
				br := bufio.NewReaderSize(nc, 16<<10)
				buf := make([]byte, 4, 4+512)
				for {
					if _, err := io.ReadFull(br, buf[:4]); err != nil {
						return
					}
					n := int(binary.BigEndian.Uint32(buf[:4]))
					if n > maxMessage {
						return
					}
					if cap(buf) < 4+n {
						nb := make([]byte, 4+n)
						copy(nb, buf[:4])
						buf = nb
					}
					buf = buf[:4+n]
					if _, err := io.ReadFull(br, buf[4:]); err != nil {
						return
					}
					if bcast {
						reg.each(func(o *rconn) {
							o.mu.Lock()
							_, _ = o.nc.Write(buf)
							o.mu.Unlock()
						})
						continue
					}
					if _, err := nc.Write(buf); err != nil {
						return
					}
				}
			}()
		}
	}
}
