package proxytest

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
)

// SOCKSProxy is a SOCKS5 (RFC 1928/1929) and SOCKS4/4a proxy on loopback.
type SOCKSProxy struct {
	*Relay
	User, Pass string            // SOCKS5: required user/password when set
	UserID     string            // SOCKS4: required user id when set
	Routes     map[string]string // host:port → address to dial
	Reply      []byte            // sent instead of a real answer when set
	Refuse     byte              // SOCKS5 reply code to refuse with, when set

	mu      sync.Mutex
	targets []SOCKSTarget
}

// SOCKSTarget is what a client asked a SOCKSProxy for.
type SOCKSTarget struct {
	Version  int
	AddrType string // "ipv4", "ipv6" or "domain"
	Addr     string // host:port as sent
	UserID   string // SOCKS4
}

// StartSOCKS runs p until the test ends.
func StartSOCKS(t testing.TB, p *SOCKSProxy) *SOCKSProxy {
	t.Helper()
	p.Relay = StartRelay(t, false, p.serve)
	return p
}

// Seen returns the targets asked for so far.
func (p *SOCKSProxy) Seen() []SOCKSTarget {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]SOCKSTarget(nil), p.targets...)
}

func (p *SOCKSProxy) record(st SOCKSTarget) {
	p.mu.Lock()
	p.targets = append(p.targets, st)
	p.mu.Unlock()
}

func (p *SOCKSProxy) dial(addr string) (net.Conn, error) {
	if to, ok := p.Routes[addr]; ok {
		addr = to
	}
	return net.Dial("tcp", addr)
}

func (p *SOCKSProxy) serve(c net.Conn) {
	br := bufio.NewReader(c)
	v, err := br.ReadByte()
	if err != nil {
		return
	}
	if p.Reply != nil {
		_, _ = c.Write(p.Reply)
		return
	}
	switch v {
	case 5:
		p.serve5(c, br)
	case 4:
		p.serve4(c, br)
	}
}

func (p *SOCKSProxy) serve5(c net.Conn, br *bufio.Reader) {
	n, err := br.ReadByte()
	if err != nil {
		return
	}
	methods := make([]byte, n)
	if _, err := io.ReadFull(br, methods); err != nil {
		return
	}
	want := byte(0)
	if p.User != "" {
		want = 2
	}
	offered := false
	for _, m := range methods {
		offered = offered || m == want
	}
	if !offered {
		_, _ = c.Write([]byte{5, 0xff})
		return
	}
	_, _ = c.Write([]byte{5, want})
	if want == 2 {
		var h [2]byte
		if _, err := io.ReadFull(br, h[:]); err != nil || h[0] != 1 {
			return
		}
		user := make([]byte, h[1])
		_, _ = io.ReadFull(br, user)
		pl, _ := br.ReadByte()
		pass := make([]byte, pl)
		if _, err := io.ReadFull(br, pass); err != nil {
			return
		}
		if string(user) != p.User || string(pass) != p.Pass {
			_, _ = c.Write([]byte{1, 1})
			return
		}
		_, _ = c.Write([]byte{1, 0})
	}
	var req [4]byte
	if _, err := io.ReadFull(br, req[:]); err != nil || req[1] != 1 {
		return
	}
	st := SOCKSTarget{Version: 5}
	var host string
	switch req[3] {
	case 1:
		ip := make([]byte, 4)
		_, _ = io.ReadFull(br, ip)
		st.AddrType, host = "ipv4", net.IP(ip).String()
	case 4:
		ip := make([]byte, 16)
		_, _ = io.ReadFull(br, ip)
		st.AddrType, host = "ipv6", net.IP(ip).String()
	case 3:
		l, _ := br.ReadByte()
		name := make([]byte, l)
		_, _ = io.ReadFull(br, name)
		st.AddrType, host = "domain", string(name)
	default:
		return
	}
	var port [2]byte
	if _, err := io.ReadFull(br, port[:]); err != nil {
		return
	}
	st.Addr = net.JoinHostPort(host, strconv.Itoa(int(binary.BigEndian.Uint16(port[:]))))
	p.record(st)
	if p.Refuse != 0 {
		_, _ = c.Write([]byte{5, p.Refuse, 0, 1, 0, 0, 0, 0, 0, 0})
		return
	}
	up, err := p.dial(st.Addr)
	if err != nil {
		_, _ = c.Write([]byte{5, 5, 0, 1, 0, 0, 0, 0, 0, 0}) // connection refused
		return
	}
	if _, err := c.Write([]byte{5, 0, 0, 1, 127, 0, 0, 1, 0, 0}); err != nil {
		_ = up.Close()
		return
	}
	p.pipe(c, br, up)
}

func (p *SOCKSProxy) serve4(c net.Conn, br *bufio.Reader) {
	var req [7]byte // CD, DSTPORT, DSTIP
	if _, err := io.ReadFull(br, req[:]); err != nil || req[0] != 1 {
		return
	}
	uid, err := br.ReadString(0)
	if err != nil {
		return
	}
	st := SOCKSTarget{Version: 4, UserID: uid[:len(uid)-1], AddrType: "ipv4"}
	port := strconv.Itoa(int(binary.BigEndian.Uint16(req[1:3])))
	ip := net.IP(req[3:7])
	host := ip.String()
	if ip[0] == 0 && ip[1] == 0 && ip[2] == 0 && ip[3] != 0 { // SOCKS4a
		name, err := br.ReadString(0)
		if err != nil {
			return
		}
		st.AddrType, host = "domain", name[:len(name)-1]
	}
	st.Addr = net.JoinHostPort(host, port)
	p.record(st)
	if p.UserID != "" && st.UserID != p.UserID {
		_, _ = c.Write([]byte{0, 93, 0, 0, 0, 0, 0, 0})
		return
	}
	up, err := p.dial(st.Addr)
	if err != nil {
		_, _ = c.Write([]byte{0, 91, 0, 0, 0, 0, 0, 0})
		return
	}
	if _, err := c.Write([]byte{0, 90, 0, 0, 0, 0, 0, 0}); err != nil {
		_ = up.Close()
		return
	}
	p.pipe(c, br, up)
}
