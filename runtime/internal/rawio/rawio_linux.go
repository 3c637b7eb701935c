package rawio

import (
	"errors"
	"io"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// IO reads and writes a TCP or Unix socket without blocking, through
// syscall.RawConn: the socket is already non-blocking (the Go poller set
// it so), and RawConn keeps the descriptor valid while a call runs, even
// when the connection is closed concurrently.
//
// Writes: TryWrite and TryWritev write what the socket takes now and
// never wait: the caller writes a frame itself when nothing else is
// queued, and completes what is left with ordinary blocking writes of
// the net.Conn (from a goroutine that may wait).
//
// Reads: Read waits for readability without holding a buffer; it takes a
// pooled read buffer only once the socket is readable, so an idle
// connection holds none.
//
// The callbacks are made once per connection and keep their arguments and
// results in the struct, so that a read or a write allocates nothing.
// Reads must come from one goroutine at a time, and so must writes (the
// caller serialises them; that also guards the header buffer and iov).
type IO struct {
	rc syscall.RawConn
	nc net.Conn

	readFn     func(fd uintptr) bool
	readIntoFn func(fd uintptr) bool
	dst        []byte // readInto's destination
	rbuf       *[]byte
	rn         int
	rerr       error
	// spare is the buffer of the last read, kept for the next attempt
	// (which usually finds nothing, EAGAIN) so that a request/response
	// exchange takes one buffer from the pool per message, not two. It
	// is never held while the poller waits: readNow hands it back on
	// EAGAIN.
	spare *[]byte
	// held counts the read buffers this connection holds (0 or 1): 0
	// whenever the reader waits for the socket.
	held atomic.Int32

	writeFn  func(fd uintptr) bool
	writevFn func(fd uintptr) bool
	wb       []byte
	wn       int
	werr     error
	iov      [2]syscall.Iovec
	niov     int
	hdr      [16]byte // the header of a frame written by TryWritev
}

// New returns the raw I/O of nc, or nil for connections that do not give
// access to their socket (TLS, HTTP/2 streams, test transports): those
// keep the blocking path.
func New(nc net.Conn) *IO {
	var sc syscall.Conn
	switch c := nc.(type) {
	case *net.TCPConn:
		sc = c
	case *net.UnixConn:
		sc = c
	default:
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	r := &IO{rc: rc, nc: nc}
	r.readFn = r.readNow
	r.readIntoFn = r.readIntoNow
	r.writeFn = r.writeNow
	r.writevFn = r.writevNow
	return r
}

// readNow is the callback of rc.Read: it runs when the socket may be
// readable. It borrows a read buffer only for the system call; on EAGAIN
// it gives it back and returns false, and the poller waits.
func (r *IO) readNow(fd uintptr) bool {
	b := r.spare
	r.spare = nil
	if b == nil {
		b = GetReadBuf()
		r.held.Add(1)
	}
	if !r.readFD(fd, *b) {
		r.put(b)
		return false
	}
	r.rbuf = b
	return true
}

// readIntoNow is the callback of rc.Read for readInto.
func (r *IO) readIntoNow(fd uintptr) bool { return r.readFD(fd, r.dst) }

// readFD makes one read system call into b (retried on EINTR) and
// records its outcome in rn and rerr; it reports false for EAGAIN. The
// system call itself (not syscall.Read) gives the errno without an error
// interface to compare.
func (r *IO) readFD(fd uintptr, b []byte) bool {
	for {
		n, _, errno := syscall.Syscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
		switch errno {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		case 0:
			r.rn, r.rerr = int(n), nil
		default:
			r.rn, r.rerr = 0, errno
		}
		return true
	}
}

// readResult turns the outcome of rc.Read (err) and of the read system
// call into n > 0 bytes or an error: io.EOF at the end of the stream.
func (r *IO) readResult(err error) (int, error) {
	switch {
	case err != nil:
		return 0, r.opError("read", err)
	case r.rerr != nil:
		return 0, r.opError("read", os.NewSyscallError("read", r.rerr))
	case r.rn == 0:
		return 0, io.EOF
	}
	return r.rn, nil
}

// Read waits until the socket is readable and reads it. It returns the
// pooled buffer holding the n > 0 bytes read, or an error (io.EOF at the
// end of the stream). The caller hands the buffer back with Done once it
// is done with the bytes.
func (r *IO) Read() (*[]byte, int, error) {
	r.rbuf, r.rn, r.rerr = nil, 0, nil
	n, err := r.readResult(r.rc.Read(r.readFn))
	b := r.rbuf
	r.rbuf = nil
	if err != nil {
		if b != nil {
			r.put(b)
		}
		return nil, 0, err
	}
	return b, n, nil
}

// ReadInto waits until the socket is readable and reads into dst, a
// buffer of the caller's (say, the message being assembled). It returns
// n > 0 bytes, or an error (io.EOF at the end of the stream).
func (r *IO) ReadInto(dst []byte) (int, error) {
	r.dst, r.rn, r.rerr = dst, 0, nil
	err := r.rc.Read(r.readIntoFn)
	r.dst = nil
	return r.readResult(err)
}

// Done takes back the buffer of a Read once its bytes are processed. It
// is kept for the next Read, which usually finds nothing to read at
// first: a request/response exchange takes one buffer from the pool per
// message, not two.
func (r *IO) Done(b *[]byte) { r.spare = b }

// Close hands back the spare buffer when the reader stops.
func (r *IO) Close() {
	if r.spare != nil {
		r.put(r.spare)
		r.spare = nil
	}
}

func (r *IO) put(b *[]byte) {
	PutReadBuf(b)
	r.held.Add(-1)
}

// Held returns the number of read buffers r holds: 0 or 1, and 0 whenever
// Read waits for the socket.
func (r *IO) Held() int { return int(r.held.Load()) }

// HeaderBuf returns an empty slice of a buffer of r's for the header that
// TryWritev writes before a payload (at least 14 bytes: any frame
// header). Writers use it one at a time, as they use TryWritev.
func (r *IO) HeaderBuf() []byte { return r.hdr[:0] }

// writeNow is the callback of rc.Write: one non-blocking write. It
// returns true even on EAGAIN: TryWrite never waits for writability.
func (r *IO) writeNow(fd uintptr) bool {
	for {
		n, _, errno := syscall.Syscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(unsafe.SliceData(r.wb))), uintptr(len(r.wb)))
		if errno == syscall.EINTR {
			continue
		}
		r.setWritten(n, errno)
		return true
	}
}

// setWritten records the result of a write system call: EAGAIN is not an
// error (nothing was written).
func (r *IO) setWritten(n uintptr, errno syscall.Errno) {
	r.wn, r.werr = int(n), nil
	if errno != 0 {
		r.wn = 0
		if errno != syscall.EAGAIN {
			r.werr = errno
		}
	}
}

// TryWrite writes as much of b as the socket takes now, without waiting,
// and returns how much that was (0 when the socket's buffer is full). An
// error means the connection is broken.
func (r *IO) TryWrite(b []byte) (int, error) {
	r.wb, r.wn, r.werr = b, 0, nil
	err := r.rc.Write(r.writeFn)
	r.wb = nil
	return r.written(err)
}

func (r *IO) written(err error) (int, error) {
	if err == nil && r.werr != nil {
		err = os.NewSyscallError("write", r.werr)
	}
	if err != nil {
		return r.wn, r.opError("write", err)
	}
	return r.wn, nil
}

// writevNow is the callback of rc.Write for TryWritev.
func (r *IO) writevNow(fd uintptr) bool {
	for {
		n, _, errno := syscall.Syscall(syscall.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&r.iov[0])), uintptr(r.niov))
		if errno == syscall.EINTR {
			continue
		}
		r.setWritten(n, errno)
		return true
	}
}

// TryWritev is TryWrite for a frame in two pieces, hdr (not empty) and
// the payload where the caller has it: one writev, no copy. It returns
// the number of bytes of hdr and payload written.
func (r *IO) TryWritev(hdr, payload []byte) (int, error) {
	r.iov[0].Base = &hdr[0]
	r.iov[0].SetLen(len(hdr))
	r.niov = 1
	if len(payload) > 0 {
		r.iov[1].Base = &payload[0]
		r.iov[1].SetLen(len(payload))
		r.niov = 2
	}
	r.wn, r.werr = 0, nil
	err := r.rc.Write(r.writevFn)
	r.iov = [2]syscall.Iovec{} // keep no reference to the payload
	return r.written(err)
}

// opError words an error as net.Conn's Read and Write do.
func (r *IO) opError(op string, err error) error {
	var oe *net.OpError
	if errors.As(err, &oe) {
		// RawConn says "raw-read" / "raw-write".
		e := *oe
		e.Op = op
		return &e
	}
	return &net.OpError{Op: op, Net: r.nc.LocalAddr().Network(), Source: r.nc.LocalAddr(), Addr: r.nc.RemoteAddr(), Err: err}
}
