// Package xconnect turns on WebSockets over HTTP/2 (RFC 8441) in the
// HTTP/2 server of net/http, for a program that imports it for its side
// effect:
//
//	import _ "github.com/tetherws/tether/runtime/xconnect"
//
// net/http's HTTP/2 server (Go 1.24 to 1.26) implements extended CONNECT,
// the request RFC 8441 opens a WebSocket with, but keeps it off unless the
// GODEBUG environment variable contains http2xconnect=1 when net/http is
// initialized (golang/go#71128). The bundled HTTP/2 code reads the variable
// with os.Getenv in an init function, so the setting cannot be given with
// a //go:debug line or a godebug line in go.mod ("unknown //go:debug
// setting"), nor with os.Setenv in main, which runs too late; and
// http.HTTP2Config has no field for it in Go 1.26.
//
// This package's init function appends http2xconnect=1 to GODEBUG before
// net/http reads it. That order is guaranteed: Go initializes, at each
// step, the first package in import-path order whose imports are all
// initialized (the Go specification, "Package initialization"); this
// package imports only os and strings, and its path sorts before
// "net/http" and "golang.org/x/net/http2", which both read the setting.
// Setting GODEBUG=http2xconnect=1 in the environment does the same
// without this package; a GODEBUG that already mentions http2xconnect (=0
// to keep extended CONNECT off) is left alone.
//
// The side effects are process-wide: every net/http HTTP/2 server in the
// program advertises SETTINGS_ENABLE_CONNECT_PROTOCOL and hands extended
// CONNECT requests to its handlers (tether's runtime.Accept and
// runtime.Server.ServeHTTP answer those with :protocol websocket), and
// child processes started with os/exec inherit the changed GODEBUG.
package xconnect

import (
	"os"
	"strings"
)

// Setting is the GODEBUG setting this package adds.
const Setting = "http2xconnect=1"

func init() {
	v := os.Getenv("GODEBUG")
	if strings.Contains(v, "http2xconnect=") {
		return // set already, or turned off on purpose with http2xconnect=0
	}
	if v != "" {
		v += ","
	}
	_ = os.Setenv("GODEBUG", v+Setting)
}
