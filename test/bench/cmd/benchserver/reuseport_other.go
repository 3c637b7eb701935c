//go:build !linux

package main

import (
	"errors"
	"syscall"
)

// setReusePort fails here: the scale scenario runs on Linux.
func setReusePort(network, address string, rc syscall.RawConn) error {
	return errors.New("-reuseport: Linux only")
}
