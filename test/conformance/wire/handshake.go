package wire

import (
	"bufio"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
)

// acceptGUID is the GUID of RFC 6455 §1.3.
const acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// AcceptKey returns the Sec-WebSocket-Accept value for key.
func AcceptKey(key string) string {
	h := sha1.Sum([]byte(key + acceptGUID))
	return base64.StdEncoding.EncodeToString(h[:])
}

func hasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// ClientHandshake sends an opening handshake request on nc for host and
// path, offering extensions (a Sec-WebSocket-Extensions value, or "" for
// none), checks the 101 response and returns the reader to read frames
// from and the response headers.
func ClientHandshake(nc net.Conn, host, path, extensions string) (*bufio.Reader, http.Header, error) {
	var k [16]byte
	_, _ = rand.Read(k[:])
	key := base64.StdEncoding.EncodeToString(k[:])
	var b strings.Builder
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n", path, host)
	fmt.Fprintf(&b, "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n", key)
	if extensions != "" {
		fmt.Fprintf(&b, "Sec-WebSocket-Extensions: %s\r\n", extensions)
	}
	b.WriteString("\r\n")
	if _, err := nc.Write([]byte(b.String())); err != nil {
		return nil, nil, err
	}
	br := bufio.NewReaderSize(nc, 64<<10)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("reading handshake response: %w", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return nil, nil, fmt.Errorf("handshake: status %d, want 101", resp.StatusCode)
	}
	if !hasToken(resp.Header, "Upgrade", "websocket") {
		return nil, nil, errors.New("handshake: response without Upgrade: websocket")
	}
	if !hasToken(resp.Header, "Connection", "upgrade") {
		return nil, nil, errors.New("handshake: response without Connection: Upgrade")
	}
	if got := resp.Header.Get("Sec-WebSocket-Accept"); got != AcceptKey(key) {
		return nil, nil, fmt.Errorf("handshake: Sec-WebSocket-Accept %q, want %q", got, AcceptKey(key))
	}
	return br, resp.Header, nil
}

// ServerHandshake reads an opening handshake request from nc, checks it
// against RFC 6455 §4.2.1 and returns it with the reader to read frames
// from. It does not answer: call Respond.
func ServerHandshake(nc net.Conn) (*bufio.Reader, *http.Request, error) {
	br := bufio.NewReaderSize(nc, 64<<10)
	req, err := http.ReadRequest(br)
	if err != nil {
		return nil, nil, fmt.Errorf("reading handshake request: %w", err)
	}
	switch {
	case req.Method != http.MethodGet:
		err = fmt.Errorf("handshake: method %s, want GET", req.Method)
	case req.ProtoMajor != 1 || req.ProtoMinor != 1:
		err = fmt.Errorf("handshake: %s, want HTTP/1.1", req.Proto)
	case req.Host == "":
		err = errors.New("handshake: request without Host")
	case !hasToken(req.Header, "Upgrade", "websocket"):
		err = errors.New("handshake: request without Upgrade: websocket")
	case !hasToken(req.Header, "Connection", "upgrade"):
		err = errors.New("handshake: request without Connection: Upgrade")
	case req.Header.Get("Sec-WebSocket-Version") != "13":
		err = fmt.Errorf("handshake: Sec-WebSocket-Version %q, want 13", req.Header.Get("Sec-WebSocket-Version"))
	}
	if err == nil {
		k, derr := base64.StdEncoding.DecodeString(req.Header.Get("Sec-WebSocket-Key"))
		if derr != nil || len(k) != 16 {
			err = fmt.Errorf("handshake: Sec-WebSocket-Key %q is not 16 bytes in base64", req.Header.Get("Sec-WebSocket-Key"))
		}
	}
	if err != nil {
		return nil, nil, err
	}
	return br, req, nil
}

// Respond answers req with 101, with the extensions value if not "".
func Respond(nc net.Conn, req *http.Request, extensions string) error {
	var b strings.Builder
	b.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n")
	fmt.Fprintf(&b, "Sec-WebSocket-Accept: %s\r\n", AcceptKey(req.Header.Get("Sec-WebSocket-Key")))
	if extensions != "" {
		fmt.Fprintf(&b, "Sec-WebSocket-Extensions: %s\r\n", extensions)
	}
	b.WriteString("\r\n")
	_, err := nc.Write([]byte(b.String()))
	return err
}

// Param is one extension parameter; Value is "" when it has none.
type Param struct {
	Name, Value string
	HasValue    bool
}

// Offer is one element of a Sec-WebSocket-Extensions header.
type Offer struct {
	Name   string
	Params []Param
}

// Get returns the parameter called name.
func (o Offer) Get(name string) (Param, bool) {
	for _, p := range o.Params {
		if strings.EqualFold(p.Name, name) {
			return p, true
		}
	}
	return Param{}, false
}

// ParseExtensions parses every Sec-WebSocket-Extensions header value of h
// (RFC 6455 §9.1; quoted values are unquoted).
func ParseExtensions(h http.Header) ([]Offer, error) {
	var out []Offer
	for _, v := range h.Values("Sec-WebSocket-Extensions") {
		for item := range strings.SplitSeq(v, ",") {
			parts := strings.Split(item, ";")
			name := strings.TrimSpace(parts[0])
			if name == "" {
				return nil, fmt.Errorf("empty extension in %q", v)
			}
			o := Offer{Name: name}
			for _, p := range parts[1:] {
				p = strings.TrimSpace(p)
				if p == "" {
					return nil, fmt.Errorf("empty parameter in %q", v)
				}
				n, val, has := strings.Cut(p, "=")
				n, val = strings.TrimSpace(n), strings.TrimSpace(val)
				if has && len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
					val = val[1 : len(val)-1]
				}
				o.Params = append(o.Params, Param{Name: n, Value: val, HasValue: has})
			}
			out = append(out, o)
		}
	}
	return out, nil
}

// String formats the offer as in a header.
func (o Offer) String() string {
	s := o.Name
	for _, p := range o.Params {
		s += "; " + p.Name
		if p.HasValue {
			s += "=" + p.Value
		}
	}
	return s
}
