//go:build !linux

package main

import "syscall"

// bindNoPort does nothing here: the kernel picks the port at bind time.
func bindNoPort(network, address string, rc syscall.RawConn) error { return nil }
