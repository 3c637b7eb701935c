package main

import (
	"fmt"
	"strings"
)

// The interop protocol, shared with node/common.js, python/common.py and
// browser/index.html: the same data, close frames, subprotocols and
// origins on every side.
const (
	textASCII     = "Hello, tether! 0123456789 ~!@#$%^&*()"
	textMultibyte = "héllo wörld — ✓ ünïcödé 日本語テキスト 🎉🚀 Ωμέγα"
	sequenceLen   = 1000
	deflateCount  = 20

	closePeerCode     = 4001
	closePeerReason   = "peer bye ✓"
	closeTetherCode   = 4002
	closeTetherReason = "tether bye ✓"

	originAllowed = "http://allowed.example"
	originBad     = "http://evil.example"

	subprotocolExpected = "chat.v2"
	maxMessageSize      = 8 << 20
)

var (
	binarySizes        = []int{0, 125, 126, 65535, 65536, 1 << 20}
	subprotocolsServer = []string{"chat.v2", "chat.v1"}
	// tether's client offers chat.v2 first: Python websockets 10's server
	// ranks by the sum of both preferences, and this order has no tie.
	subprotocolsTetherClient = []string{"x-unknown", "chat.v2", "chat.v1"}
)

func binary(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*31 + 7)
	}
	return b
}

func binaryName(n int) string {
	if n == 1<<20 {
		return "binary/1MiB"
	}
	return fmt.Sprintf("binary/%d", n)
}

func deflateText(i int) string {
	return fmt.Sprintf("deflate %d: ", i) + strings.Repeat("tether speaks permessage-deflate with context takeover. ", 300)
}

// Directions of a row.
const (
	peerToTether = "peer→tether" // peer's client, tether's server
	tetherToPeer = "tether→peer" // tether's client, peer's server
)

// checkNames lists the checks of one peer and direction, in table order.
func checkNames(peerCanPing bool) []string {
	names := []string{"text/ascii", "text/multibyte"}
	for _, n := range binarySizes {
		names = append(names, binaryName(n))
	}
	names = append(names, fmt.Sprintf("sequence/%d", sequenceLen), "deflate", "ping/tether→peer")
	if peerCanPing {
		names = append(names, "ping/peer→tether")
	}
	return append(names, "subprotocol", "close/peer-initiated", "close/tether-initiated", "origin/rejected")
}

// result is one row of the table.
type result struct {
	Peer, Direction, Check string
	OK                     bool
	Detail                 string
}

// line is one JSON line printed by a peer script.
type line struct {
	Event      string  `json:"event"`
	Check      string  `json:"check"`
	OK         bool    `json:"ok"`
	Detail     string  `json:"detail"`
	ID         string  `json:"id"`
	Header     *string `json:"header"`
	PeerCode   *int    `json:"peer_code"`
	PeerReason *string `json:"peer_reason"`
	// Server events.
	URL       string  `json:"url"`
	OriginURL string  `json:"origin_url"`
	Version   string  `json:"version"`
	Code      *int    `json:"code"`
	Reason    *string `json:"reason"`
}
