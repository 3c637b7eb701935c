package tether_test

import (
	"context"
	"net"

	"github.com/tetherws/tether"
)

// listen starts srv on a loopback port and returns its ws:// URL and a
// function that shuts it down and waits for Serve to return.
func listen(srv *tether.Server) (string, func()) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	done := make(chan struct{})
	go func() { _ = srv.Serve(ln); close(done) }()
	return "ws://" + ln.Addr().String() + "/", func() {
		_ = srv.Shutdown(context.Background())
		<-done
	}
}
