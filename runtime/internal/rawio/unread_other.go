//go:build !linux

package rawio

import "net"

// Unread returns how many bytes the kernel holds for nc that have not
// been read yet; on this system it cannot tell and returns 0.
func Unread(net.Conn) int { return 0 }
