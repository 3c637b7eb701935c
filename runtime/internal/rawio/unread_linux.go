package rawio

import (
	"net"
	"syscall"
	"unsafe"
)

// Unread returns how many bytes the kernel holds for nc that have not been
// read yet (FIONREAD), looking through a TLS connection to its transport;
// 0 when it cannot tell. A keepalive that finds bytes waiting knows the
// peer is alive although the reader has not run: a starved scheduler can
// leave a readable socket unpolled for a while.
func Unread(nc net.Conn) int {
	for {
		u, ok := nc.(interface{ NetConn() net.Conn })
		if !ok {
			break
		}
		nc = u.NetConn()
	}
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return 0
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0
	}
	var n int32
	var errno syscall.Errno
	if rc.Control(func(fd uintptr) {
		_, _, errno = syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCINQ, uintptr(unsafe.Pointer(&n)))
	}) != nil || errno != 0 {
		return 0
	}
	return int(n)
}
