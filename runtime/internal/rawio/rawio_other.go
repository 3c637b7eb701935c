//go:build !linux

package rawio

import "net"

// IO is non-blocking socket I/O; on this platform every connection takes
// the blocking path: New returns nil.
type IO struct{}

// New returns nil: this platform has no non-blocking socket I/O here.
func New(net.Conn) *IO { return nil }

// Read is never called: New returns nil.
func (*IO) Read() (*[]byte, int, error) { panic("rawio: not supported") }

// ReadInto is never called: New returns nil.
func (*IO) ReadInto([]byte) (int, error) { panic("rawio: not supported") }

// Done is never called: New returns nil.
func (*IO) Done(*[]byte) {}

// Close is never called: New returns nil.
func (*IO) Close() {}

// Held is never called: New returns nil.
func (*IO) Held() int { return 0 }

// HeaderBuf is never called: New returns nil.
func (*IO) HeaderBuf() []byte { return nil }

// TryWrite is never called: New returns nil.
func (*IO) TryWrite([]byte) (int, error) { panic("rawio: not supported") }

// TryWritev is never called: New returns nil.
func (*IO) TryWritev(hdr, p []byte) (int, error) { panic("rawio: not supported") }
