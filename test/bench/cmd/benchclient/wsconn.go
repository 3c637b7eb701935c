package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/flate"
)

// conn is the load client's own minimal WebSocket client: raw frames,
// masked, one reusable buffer per direction, and permessage-deflate when
// the server accepts it. The same code talks to every server, so the
// client costs the same whichever server it measures. In raw mode it
// speaks the length-prefixed protocol of the raw TCP echo instead.
type conn struct {
	nc   net.Conn
	br   *bufio.Reader
	raw  bool
	mask [4]byte
	wmu  sync.Mutex // writes: the broadcast reader answers pings

	msg   []byte // message being read (wire form)
	plain []byte // decompressed message
	out   []byte // frame being written

	// permessage-deflate, when negotiated.
	deflate    bool
	ext        string
	clientCtx  bool // client context takeover: one compressor for the connection
	serverCtx  bool // server context takeover: decompress with the last 32 KiB
	clientBits int
	fw         *flate.Writer
	fwBuf      bytes.Buffer
	fr         io.ReadCloser
	frSrc      bytes.Reader
	window     []byte

	wireIn, plainIn int64
}

var errClosed = errors.New("server sent close")

const guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// dial opens a connection; offer is the Sec-WebSocket-Extensions header to
// send ("" for none). bufSize is the read buffer size.
func dial(addr string, raw bool, offer string, bufSize int) (*conn, error) {
	nc, err := dialTCP(addr)
	if err != nil {
		return nil, err
	}
	c := &conn{nc: nc, raw: raw, br: bufio.NewReaderSize(nc, bufSize)}
	if raw {
		return c, nil
	}
	// The handshake cannot hang the run: a server that does not answer
	// in handshakeTimeout fails this dial.
	_ = nc.SetDeadline(time.Now().Add(handshakeTimeout))
	defer func() { _ = nc.SetDeadline(time.Time{}) }()
	if _, err := rand.Read(c.mask[:]); err != nil {
		return nil, err
	}
	var kb [16]byte
	_, _ = rand.Read(kb[:])
	key := base64.StdEncoding.EncodeToString(kb[:])
	req := "GET / HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + key + "\r\nSec-WebSocket-Version: 13\r\n"
	if offer != "" {
		req += "Sec-WebSocket-Extensions: " + offer + "\r\n"
	}
	req += "\r\n"
	if _, err := io.WriteString(nc, req); err != nil {
		nc.Close()
		return nil, err
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("handshake: %w", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		nc.Close()
		return nil, fmt.Errorf("handshake: status %s", resp.Status)
	}
	h := sha1.Sum([]byte(key + guid))
	if resp.Header.Get("Sec-WebSocket-Accept") != base64.StdEncoding.EncodeToString(h[:]) {
		nc.Close()
		return nil, errors.New("handshake: bad Sec-WebSocket-Accept")
	}
	if ext := resp.Header.Get("Sec-WebSocket-Extensions"); ext != "" {
		if err := c.negotiate(ext); err != nil {
			nc.Close()
			return nil, err
		}
	}
	return c, nil
}

// negotiate applies the server's permessage-deflate answer.
func (c *conn) negotiate(ext string) error {
	parts := strings.Split(ext, ";")
	if strings.TrimSpace(parts[0]) != "permessage-deflate" {
		return fmt.Errorf("unexpected extension %q", ext)
	}
	c.deflate, c.ext = true, ext
	c.clientCtx, c.serverCtx, c.clientBits = true, true, 15
	for _, p := range parts[1:] {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		switch k {
		case "client_no_context_takeover":
			c.clientCtx = false
		case "server_no_context_takeover":
			c.serverCtx = false
		case "client_max_window_bits":
			if v != "" {
				n, err := strconv.Atoi(strings.Trim(v, `"`))
				if err != nil || n < 8 || n > 15 {
					return fmt.Errorf("bad client_max_window_bits in %q", ext)
				}
				c.clientBits = n
			}
		case "server_max_window_bits":
		default:
			return fmt.Errorf("unexpected parameter in %q", ext)
		}
	}
	var err error
	if c.clientBits < 15 {
		c.fw, err = flate.NewWriterWindow(&c.fwBuf, 1<<c.clientBits)
	} else {
		c.fw, err = flate.NewWriter(&c.fwBuf, flate.BestSpeed)
	}
	if err != nil {
		return err
	}
	c.fr = flate.NewReader(nil)
	return nil
}

// compress returns msg compressed for one message of this connection (the
// result is valid until the next call).
func (c *conn) compress(msg []byte) []byte {
	c.fwBuf.Reset()
	if !c.clientCtx {
		c.fw.Reset(&c.fwBuf)
	}
	_, _ = c.fw.Write(msg)
	_ = c.fw.Flush()
	b := c.fwBuf.Bytes()
	return b[:len(b)-4] // strip 00 00 ff ff
}

// appendFrame appends a masked client frame.
func (c *conn) appendFrame(dst []byte, op byte, rsv1 bool, payload []byte) []byte {
	b0 := 0x80 | op
	if rsv1 {
		b0 |= 0x40
	}
	n := len(payload)
	switch {
	case n < 126:
		dst = append(dst, b0, 0x80|byte(n))
	case n < 1<<16:
		dst = append(dst, b0, 0x80|126, byte(n>>8), byte(n))
	default:
		dst = append(dst, b0, 0x80|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	dst = append(dst, c.mask[:]...)
	start := len(dst)
	dst = append(dst, payload...)
	maskBytes(dst[start:], c.mask, 0)
	return dst
}

// appendRaw appends a length-prefixed raw message.
func appendRaw(dst []byte, payload []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(payload)))
	return append(dst, payload...)
}

// maskBytes XORs b with the mask, starting at mask position pos, a word at
// a time.
func maskBytes(b []byte, key [4]byte, pos int) {
	for len(b) > 0 && pos&3 != 0 {
		b[0] ^= key[pos&3]
		b = b[1:]
		pos++
	}
	k32 := binary.LittleEndian.Uint32(key[:])
	k64 := uint64(k32) | uint64(k32)<<32
	for len(b) >= 8 {
		binary.LittleEndian.PutUint64(b, binary.LittleEndian.Uint64(b)^k64)
		b = b[8:]
	}
	for i := range b {
		b[i] ^= key[i&3]
	}
}

func (c *conn) write(b []byte) error {
	c.wmu.Lock()
	_, err := c.nc.Write(b)
	c.wmu.Unlock()
	return err
}

// sendText sends one text message (compressed when deflate is on).
func (c *conn) sendText(payload []byte) error {
	if c.raw {
		c.out = appendRaw(c.out[:0], payload)
		return c.write(c.out)
	}
	if c.deflate {
		payload = c.compress(payload)
	}
	c.out = c.appendFrame(c.out[:0], 0x1, c.deflate, payload)
	return c.write(c.out)
}

// read reads one data message and returns its (plain) payload, valid
// until the next read. Pings are answered; a close frame ends it.
func (c *conn) read() ([]byte, error) {
	if c.raw {
		var h [4]byte
		if _, err := io.ReadFull(c.br, h[:]); err != nil {
			return nil, err
		}
		n := int(binary.BigEndian.Uint32(h[:]))
		c.msg = grow(c.msg[:0], n)
		_, err := io.ReadFull(c.br, c.msg)
		c.wireIn += int64(n)
		c.plainIn += int64(n)
		return c.msg, err
	}
	c.msg = c.msg[:0]
	first, compressed := true, false
	for {
		b0, err := c.br.ReadByte()
		if err != nil {
			return nil, err
		}
		b1, err := c.br.ReadByte()
		if err != nil {
			return nil, err
		}
		if b1&0x80 != 0 {
			return nil, errors.New("server frame is masked")
		}
		n := int(b1 & 0x7f)
		switch n {
		case 126:
			var e [2]byte
			if _, err := io.ReadFull(c.br, e[:]); err != nil {
				return nil, err
			}
			n = int(binary.BigEndian.Uint16(e[:]))
		case 127:
			var e [8]byte
			if _, err := io.ReadFull(c.br, e[:]); err != nil {
				return nil, err
			}
			n = int(binary.BigEndian.Uint64(e[:]))
		}
		op := b0 & 0x0f
		if op&0x8 != 0 { // control frame
			var p [125]byte
			if n > len(p) {
				return nil, errors.New("control frame too long")
			}
			if _, err := io.ReadFull(c.br, p[:n]); err != nil {
				return nil, err
			}
			switch op {
			case 0x8:
				return nil, errClosed
			case 0x9:
				var out []byte
				out = c.appendFrame(out, 0xA, false, p[:n])
				if err := c.write(out); err != nil {
					return nil, err
				}
			}
			continue
		}
		if first {
			if op != 0x1 && op != 0x2 {
				return nil, fmt.Errorf("unexpected opcode %d", op)
			}
			compressed = b0&0x40 != 0
			first = false
		} else if op != 0 {
			return nil, fmt.Errorf("unexpected opcode %d in a fragmented message", op)
		}
		if compressed && !c.deflate {
			return nil, errors.New("compressed frame without deflate")
		}
		old := len(c.msg)
		c.msg = grow(c.msg, old+n)
		if _, err := io.ReadFull(c.br, c.msg[old:]); err != nil {
			return nil, err
		}
		if b0&0x80 != 0 {
			break
		}
	}
	c.wireIn += int64(len(c.msg))
	if !compressed {
		c.plainIn += int64(len(c.msg))
		return c.msg, nil
	}
	c.msg = append(c.msg, 0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff)
	c.frSrc.Reset(c.msg)
	var dict []byte
	if c.serverCtx {
		dict = c.window
	}
	if err := c.fr.(flate.Resetter).Reset(&c.frSrc, dict); err != nil {
		return nil, err
	}
	c.plain = c.plain[:0]
	for {
		if len(c.plain) == cap(c.plain) {
			c.plain = append(c.plain, 0)[:len(c.plain)]
		}
		n, err := c.fr.Read(c.plain[len(c.plain):cap(c.plain)])
		c.plain = c.plain[:len(c.plain)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("inflate: %w", err)
		}
	}
	if c.serverCtx {
		c.window = append(c.window, c.plain...)
		if len(c.window) > 32<<10 {
			c.window = append(c.window[:0], c.window[len(c.window)-32<<10:]...)
		}
	}
	c.plainIn += int64(len(c.plain))
	return c.plain, nil
}

func grow(b []byte, n int) []byte {
	if cap(b) < n {
		nb := make([]byte, n, n+n/4)
		copy(nb, b)
		return nb
	}
	return b[:n]
}
