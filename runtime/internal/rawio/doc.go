// Package rawio is the non-blocking socket I/O of tether's runtime: it
// reads and writes a TCP or Unix socket through syscall.RawConn, so that
// an idle connection waits for data without holding a read buffer (reads
// borrow a pooled buffer only once the socket is readable), and a sender
// writes a frame itself when the socket takes it at once, without waking
// a writer goroutine. Other transports (TLS, HTTP/2 streams) and other
// platforms than Linux get nil from New and keep the blocking path.
package rawio
