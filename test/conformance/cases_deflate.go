package conformance

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"

	"github.com/tetherws/tether/test/conformance/wire"
)

// Categories 12 and 13: permessage-deflate (RFC 7692). The raw side
// compresses with compress/flate (and, for windows under 32 KiB, with its
// own LZ77 that keeps every distance within the window) and decompresses
// with compress/flate given only the window the sender may use.
//
// On the server side the raw client offers DeflateSpec.Offer and checks
// tether's answer. On the client side the raw server reads tether's offer
// and answers DeflateSpec.Want, adjusted to what the offer allows.

// DeflateSpec sets up permessage-deflate for a case.
type DeflateSpec struct {
	// Offer is the Sec-WebSocket-Extensions value the raw client sends to
	// tether's server.
	Offer string
	// Want is what the raw server answers tether's client with.
	Want wire.PMD
}

// checkServerResponse checks tether's answer to Offer and returns the
// agreement.
func (d *DeflateSpec) checkServerResponse(h http.Header) (*wire.PMD, error) {
	resp, err := wire.ParseExtensions(h)
	if err != nil {
		return nil, fmt.Errorf("Sec-WebSocket-Extensions: %w", err)
	}
	switch {
	case len(resp) == 0:
		return nil, fmt.Errorf("server declined the offer %q (it negotiates permessage-deflate for the plain offer)", d.Offer)
	case len(resp) > 1:
		return nil, fmt.Errorf("server accepted %d extensions for one offer: %v", len(resp), h.Values("Sec-WebSocket-Extensions"))
	}
	offers, err := wire.ParseExtensions(http.Header{"Sec-Websocket-Extensions": {d.Offer}})
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, o := range offers {
		info, err := wire.ParseOffer(o)
		if err != nil {
			return nil, fmt.Errorf("suite offer %q: %w", o, err)
		}
		pmd, err := wire.CheckResponse(info, resp[0])
		if err == nil {
			return &pmd, nil
		}
		errs = append(errs, err)
	}
	return nil, fmt.Errorf("server answered %q to the offer %q: %w", resp[0], d.Offer, errors.Join(errs...))
}

// answerClient reads tether's offer and builds the answer: Want, adjusted
// to satisfy the offer. skip is set when tether offers no
// permessage-deflate at all.
func (d *DeflateSpec) answerClient(h http.Header) (pmd *wire.PMD, answer, skip string, err error) {
	offers, err := wire.ParseExtensions(h)
	if err != nil {
		return nil, "", "", fmt.Errorf("client's Sec-WebSocket-Extensions: %w", err)
	}
	var info wire.OfferInfo
	found := false
	for _, o := range offers {
		if !strings.EqualFold(o.Name, wire.PMDName) {
			continue
		}
		info, err = wire.ParseOffer(o)
		if err != nil {
			return nil, "", "", fmt.Errorf("client's offer %q: %w", o, err)
		}
		found = true
		break
	}
	if !found {
		return nil, "", deflateUnavailable + ": the client offers no permessage-deflate", nil
	}
	w := d.Want
	if info.ServerNoContextTakeover {
		w.ServerNoContextTakeover = true
	}
	if info.ServerMaxWindowBits != 0 && (w.ServerMaxWindowBits == 0 || w.ServerMaxWindowBits > info.ServerMaxWindowBits) {
		w.ServerMaxWindowBits = info.ServerMaxWindowBits
	}
	if w.ClientMaxWindowBits != 0 && !info.ClientMaxWindowBitsOffered {
		return nil, "", "", fmt.Errorf("client's offer %q has no client_max_window_bits, so the server cannot ask for a %d-bit client window (RFC 7692 §7.1.2.2)", h.Get("Sec-WebSocket-Extensions"), w.ClientMaxWindowBits)
	}
	answer = w.String()
	resp, _ := wire.ParseExtensions(http.Header{"Sec-Websocket-Extensions": {answer}})
	p, err := wire.CheckResponse(info, resp[0])
	if err != nil {
		return nil, "", "", fmt.Errorf("suite answer %q to %q: %w", answer, h.Get("Sec-WebSocket-Extensions"), err)
	}
	return &p, answer, "", nil
}

// deflateData builds the payloads of the 12.x data kinds.
var deflateKinds = []struct {
	name string
	op   byte
	gen  func(n int, seed uint64) []byte
}{
	{"random words (text)", wire.OpText, wordText},
	{"compressible binary", wire.OpBinary, func(n int, seed uint64) []byte {
		r := rand.New(rand.NewPCG(seed, 12))
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.IntN(16)) * 17
		}
		return b
	}},
	{"repeated English text", wire.OpText, func(n int, _ uint64) []byte {
		s := "The quick brown fox jumps over the lazy dog. Pack my box with five dozen liquor jugs. "
		return []byte(strings.Repeat(s, n/len(s)+1)[:n])
	}},
	{"JSON records (text)", wire.OpText, func(n int, seed uint64) []byte {
		r := rand.New(rand.NewPCG(seed, 13))
		var b strings.Builder
		for i := 0; b.Len() < n; i++ {
			fmt.Fprintf(&b, `{"id":%d,"name":"user%d","score":%d,"tags":["a","b"]},`, i, r.IntN(1000), r.IntN(100000))
		}
		return []byte(b.String()[:n])
	}},
	{"incompressible binary", wire.OpBinary, binaryPayload},
}

func wordText(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 11))
	words := []string{"lorem ", "ipsum ", "dolor ", "sit ", "amet ", "κόσμε ", "été ", "naïve ", "0123 ", "\n"}
	var b []byte
	for len(b) < n+8 {
		b = append(b, words[r.IntN(len(words))]...)
	}
	// Cut on a character boundary.
	for n > 0 && b[n]&0xc0 == 0x80 {
		n--
	}
	return b[:n]
}

// pipeline sends count messages (compressed) from a second goroutine while
// it reads and checks their echoes, so that neither side waits on a full
// socket buffer.
func (p *Peer) pipeline(count int, msg func(i int) (byte, []byte), frag int) error {
	sent := make(chan error, 1)
	stop := make(chan struct{})
	go func() {
		for i := range count {
			select {
			case <-stop:
				sent <- nil
				return
			default:
			}
			op, data := msg(i)
			if err := p.Write(p.Encode(p.MessageFrames(op, data, frag, true)...), 0); err != nil {
				sent <- err
				return
			}
		}
		sent <- nil
	}()
	var err error
	for i := 0; i < count && err == nil; i++ {
		op, data := msg(i)
		if err = p.ExpectMessage(op, data); err != nil {
			err = fmt.Errorf("message %d of %d: %w", i+1, count, err)
		}
	}
	if err != nil {
		close(stop)
		_ = p.nc.Close() // unblocks the writer
		<-sent
		p.ended = true
		return err
	}
	return <-sent
}

func deflateCases(t *table, cfg *Config) {
	defaultSpec := &DeflateSpec{Offer: "permessage-deflate; client_max_window_bits"}
	sizes := []int{16, 64, 256, 1024, 4096, 8192, 16384, 32768, 65536, 131072}
	fragSizes := []int{256, 1024, 4096, 8192, 16384, 32768, 65536, 131072}
	countFor := func(size int) int {
		if cfg.Full {
			return min(1000, max(16, (4<<20)/size))
		}
		return min(10, max(1, (32<<10)/size))
	}
	for k, kind := range deflateKinds {
		add := func(id string, size, frag int) {
			n := countFor(size)
			desc := fmt.Sprintf("Send %d compressed messages of %s, %s", n, sizeName(size), kind.name)
			if frag > 0 {
				desc += fmt.Sprintf(", in frames of %d octets", frag)
			}
			c := t.add(id, desc+"; default offer", func(p *Peer) error {
				return p.pipeline(n, func(i int) (byte, []byte) { return kind.op, kind.gen(size, uint64(i)) }, frag)
			})
			c.Deflate = defaultSpec
		}
		for i, size := range sizes {
			add(fmt.Sprintf("12.%d.%d", k+1, i+1), size, 0)
		}
		for i, size := range fragSizes {
			add(fmt.Sprintf("12.%d.%d", k+1, len(sizes)+i+1), size, 256)
		}
	}

	type combo struct {
		id   string
		desc string
		spec *DeflateSpec
	}
	var combos []combo
	combos = append(combos,
		combo{"13.1", "default parameters", &DeflateSpec{Offer: "permessage-deflate"}},
		combo{"13.2", "no context takeover both ways", &DeflateSpec{
			Offer: "permessage-deflate; client_no_context_takeover; server_no_context_takeover",
			Want:  wire.PMD{ServerNoContextTakeover: true, ClientNoContextTakeover: true}}},
	)
	for bits := 9; bits <= 15; bits++ {
		combos = append(combos,
			combo{fmt.Sprintf("13.3.%d", bits-8), fmt.Sprintf("window bits %d both ways, context takeover", bits), &DeflateSpec{
				Offer: fmt.Sprintf("permessage-deflate; client_max_window_bits=%d; server_max_window_bits=%d", bits, bits),
				Want:  wire.PMD{ServerMaxWindowBits: bits, ClientMaxWindowBits: bits}}},
			combo{fmt.Sprintf("13.4.%d", bits-8), fmt.Sprintf("window bits %d both ways, no context takeover", bits), &DeflateSpec{
				Offer: fmt.Sprintf("permessage-deflate; client_max_window_bits=%d; server_max_window_bits=%d; client_no_context_takeover; server_no_context_takeover", bits, bits),
				Want:  wire.PMD{ServerMaxWindowBits: bits, ClientMaxWindowBits: bits, ServerNoContextTakeover: true, ClientNoContextTakeover: true}}},
			combo{fmt.Sprintf("13.5.%d", bits-8), fmt.Sprintf("server window bits %d, client window 15", bits), &DeflateSpec{
				Offer: fmt.Sprintf("permessage-deflate; server_max_window_bits=%d; client_max_window_bits", bits),
				Want:  wire.PMD{ServerMaxWindowBits: bits}}},
			combo{fmt.Sprintf("13.6.%d", bits-8), fmt.Sprintf("client window bits %d, server window 15", bits), &DeflateSpec{
				Offer: fmt.Sprintf("permessage-deflate; client_max_window_bits=%d", bits),
				Want:  wire.PMD{ClientMaxWindowBits: bits}}},
			combo{fmt.Sprintf("13.7.%d", bits-8), fmt.Sprintf("window bits %d, server without context takeover, client with", bits), &DeflateSpec{
				Offer: fmt.Sprintf("permessage-deflate; client_max_window_bits=%d; server_max_window_bits=%d; server_no_context_takeover", bits, bits),
				Want:  wire.PMD{ServerMaxWindowBits: bits, ClientMaxWindowBits: bits, ServerNoContextTakeover: true}}},
		)
	}
	combos = append(combos, combo{"13.8.1", "several offers, the first with the tightest parameters", &DeflateSpec{
		Offer: "permessage-deflate; client_max_window_bits=9; server_max_window_bits=9; client_no_context_takeover; server_no_context_takeover, permessage-deflate; client_max_window_bits, permessage-deflate",
		Want:  wire.PMD{ServerMaxWindowBits: 9, ClientMaxWindowBits: 9, ServerNoContextTakeover: true, ClientNoContextTakeover: true}}})

	violations := []struct {
		id, desc string
		run      func(p *Peer) error
	}{
		{"13.9.1", "a compressed message whose continuation frame also has RSV1: fail with 1002 (RFC 7692 §6.1)", func(p *Peer) error {
			fs := p.MessageFrames(wire.OpText, wordText(2000, 1), 64, true)
			fs[1].Rsv = wire.RSV1
			return p.SendExpectFail(1002, ChopNone, fs...)
		}},
		{"13.9.2", "a compressed text message that inflates to invalid UTF-8: fail with 1007", func(p *Peer) error {
			return p.SendExpectFail(1007, ChopNone, p.MessageFrames(wire.OpText, unhex(kosme+"eda080656469746564"), 0, true)...)
		}},
		{"13.9.3", "a compressed message that is not valid DEFLATE data: fail with 1002 or 1007 (RFC 7692 names no code)", func(p *Peer) error {
			if err := p.Send(ChopNone, Rsv(F(wire.OpBinary, []byte{0xff, 0xff, 0xff, 0xff, 0x00, 0x12}), wire.RSV1)); err != nil {
				return err
			}
			f, err := p.ExpectClose(1002, 1007)
			if err != nil {
				return err
			}
			p.answerClose(f)
			return p.Finish()
		}},
		{"13.9.4", "a ping with RSV1 while permessage-deflate is in force: fail with 1002 (extensions never touch control frames)", func(p *Peer) error {
			return p.SendExpectFail(1002, ChopNone, Rsv(F(wire.OpPing, []byte("ping")), wire.RSV1))
		}},
	}
	for _, v := range violations {
		c := t.add(v.id, "permessage-deflate, default offer: "+v.desc, v.run)
		c.Deflate = defaultSpec
	}

	for _, cb := range combos {
		c := t.add(cb.id, "permessage-deflate with "+cb.desc+": compressed messages of 16 B–16 KiB (64 KiB in full runs), whole and in 256-octet frames, one uncompressed, all echoed", func(p *Peer) error {
			return deflateSequence(p, cfg)
		})
		c.Deflate = cb.spec
	}
}

// deflateSequence sends a series of messages that exercises the window
// and the context across messages: every size twice (the second refers to
// the first under context takeover), whole and fragmented, and one
// uncompressed message in the middle.
func deflateSequence(p *Peer, cfg *Config) error {
	sizes := []int{16, 64, 256, 1024, 4096, 16384}
	rounds := 1
	if cfg.Full {
		sizes, rounds = append(sizes, 65536), 3
	}
	type msg struct {
		op       byte
		data     []byte
		frag     int
		compress bool
	}
	var msgs []msg
	for r := range rounds {
		for _, n := range sizes {
			data := wordText(n, uint64(n+r))
			msgs = append(msgs, msg{wire.OpText, data, 0, true}, msg{wire.OpText, data, 256, true})
			if n == 1024 {
				msgs = append(msgs, msg{wire.OpBinary, binaryPayload(n, 7), 0, false})
			}
		}
	}
	for i, m := range msgs {
		if err := p.SendMessage(m.op, m.data, m.frag, 0, m.compress); err != nil {
			return err
		}
		if err := p.ExpectMessage(m.op, m.data); err != nil {
			return fmt.Errorf("message %d of %d (%s, frames of %d, compressed %v): %w", i+1, len(msgs), sizeName(len(m.data)), m.frag, m.compress, err)
		}
	}
	return nil
}
