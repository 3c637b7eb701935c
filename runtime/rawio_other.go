//go:build !linux

package runtime

import "net"

// rawIO is non-blocking socket I/O; on this platform every connection
// takes the blocking path (see rawio_linux.go).
type rawIO struct {
	hdr [16]byte
}

func newRawIO(net.Conn) *rawIO { return nil }

func (*rawIO) read() (*[]byte, int, error)          { panic("unreachable") }
func (*rawIO) readInto([]byte) (int, error)         { panic("unreachable") }
func (*rawIO) done(*[]byte)                         {}
func (*rawIO) close()                               {}
func (*rawIO) tryWrite([]byte) (int, error)         { panic("unreachable") }
func (*rawIO) tryWritev(hdr, p []byte) (int, error) { panic("unreachable") }
