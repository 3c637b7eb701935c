package conformance

import (
	"bytes"
	"fmt"
	"math/rand/v2"

	"github.com/tetherws/tether/test/conformance/wire"
)

// Category 9 (large messages, many fragments, many messages: benchmarks
// that report times and fail only on wrong behaviour) and 10
// (auto-fragmentation).

func textPayload(n int) []byte {
	return bytes.Repeat([]byte("BAsd7&jh23"), n/10+1)[:n]
}

func binaryPayload(n int, seed uint64) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(seed, 9))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func sizeName(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}

func limitCases(t *table, cfg *Config) {
	// Quick runs scale the sizes down by 16 and the counts by 10.
	scale, count := 16, 100
	if cfg.Full {
		scale, count = 1, 1000
	}
	kinds := []struct {
		op   byte
		name string
		data func(n int) []byte
	}{
		{wire.OpText, "text", textPayload},
		{wire.OpBinary, "binary", func(n int) []byte { return binaryPayload(n, uint64(n)) }},
	}
	bench := func(id, desc string, run func(p *Peer) error) {
		c := t.add(id, desc, run)
		c.Bench = true
	}
	for k, kind := range kinds {
		for i, size := range []int{64 << 10, 256 << 10, 1 << 20, 4 << 20, 8 << 20, 16 << 20} {
			n := size / scale
			bench(fmt.Sprintf("9.%d.%d", 1+k, i+1), fmt.Sprintf("Send %s message of %s", kind.name, sizeName(n)), func(p *Peer) error {
				return p.Echo(kind.op, kind.data(n), 0, 0)
			})
		}
		for i, frag := range []int{64, 256, 1 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20} {
			n := 4 << 20 / scale
			frag := min(frag, n)
			bench(fmt.Sprintf("9.%d.%d", 3+k, i+1), fmt.Sprintf("Send %s message of %s in fragments of %s", kind.name, sizeName(n), sizeName(frag)), func(p *Peer) error {
				return p.Echo(kind.op, kind.data(n), frag, 0)
			})
		}
		for i, chop := range []int{64, 128, 256, 512, 1024, 2048} {
			n := 1 << 20 / scale
			bench(fmt.Sprintf("9.%d.%d", 5+k, i+1), fmt.Sprintf("Send %s message of %s in chops of %d octets", kind.name, sizeName(n), chop), func(p *Peer) error {
				return p.Echo(kind.op, kind.data(n), 0, chop)
			})
		}
		for i, size := range []int{0, 16, 64, 256, 1024, 4096} {
			bench(fmt.Sprintf("9.%d.%d", 7+k, i+1), fmt.Sprintf("Send %d %s messages of %s, each after the echo of the one before", count, kind.name, sizeName(size)), func(p *Peer) error {
				data := kind.data(size)
				for j := range count {
					if err := p.Echo(kind.op, data, 0, 0); err != nil {
						return fmt.Errorf("message %d: %w", j+1, err)
					}
				}
				return nil
			})
		}
	}

	data := textPayload(65536)
	t.add("10.1.1", "Send text message of 65536 octets in fragments of 1300 octets", func(p *Peer) error {
		return p.Echo(wire.OpText, data, 1300, 0)
	})
}
