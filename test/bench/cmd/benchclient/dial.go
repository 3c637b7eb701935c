package main

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"
)

// handshakeTimeout bounds a dial and its opening handshake.
const handshakeTimeout = 10 * time.Second

// sources are the local addresses dialTCP binds in turn (none: the
// kernel's choice); next counts the dials.
var (
	sources []netip.Addr
	next    atomic.Uint64
)

// dialTCP connects to addr from the next source address, if any. On Linux
// the local port is chosen at connect time (IP_BIND_ADDRESS_NO_PORT), so
// that each source address offers the whole ephemeral range to every
// server port rather than one port per socket across all destinations.
func dialTCP(addr string) (net.Conn, error) {
	d := net.Dialer{Timeout: handshakeTimeout}
	if len(sources) > 0 {
		src := sources[(next.Add(1)-1)%uint64(len(sources))]
		d.LocalAddr = &net.TCPAddr{IP: src.AsSlice()}
		d.Control = bindNoPort
	}
	return d.Dial("tcp", addr)
}

// parseSources expands a list of addresses and first-last ranges
// ("127.0.0.2-127.0.0.9,127.0.0.20") into the addresses, in order.
func parseSources(list string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		first, last, isRange := strings.Cut(item, "-")
		a, err := netip.ParseAddr(first)
		if err != nil {
			return nil, fmt.Errorf("source address %q: %w", item, err)
		}
		b := a
		if isRange {
			if b, err = netip.ParseAddr(last); err != nil {
				return nil, fmt.Errorf("source address %q: %w", item, err)
			}
		}
		if b.Less(a) || a.Is4() != b.Is4() {
			return nil, fmt.Errorf("source range %q is empty", item)
		}
		for x := a; ; x = x.Next() {
			out = append(out, x)
			if x == b || len(out) > 1<<16 {
				break
			}
		}
	}
	if len(out) > 1<<16 {
		return nil, fmt.Errorf("source addresses %q: more than %d", list, 1<<16)
	}
	return out, nil
}
