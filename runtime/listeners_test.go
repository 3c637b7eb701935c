package runtime

import (
	"bytes"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"testing"
)

// A Server serves on a Unix socket listener as on TCP: the raw socket
// I/O carries a 1 MiB message each way, and Shutdown removes the socket
// file (net.UnixListener unlinks what net.Listen created).
func TestServerOnUnixSocketListener(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ws.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Skipf("no Unix sockets: %v", err)
	}
	srv := &Server{Handler: echoHandler, Options: ServerOptions{Options: Options{MaxMessageSize: 2 << 20}}}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	c := dial(t, "ws://localhost/", &DialOptions{UnixSocket: path, Options: Options{MaxMessageSize: 2 << 20}})
	if _, ok := c.NetConn().(*net.UnixConn); !ok {
		t.Fatalf("transport %T, want *net.UnixConn", c.NetConn())
	}
	big := bytes.Repeat([]byte("unix"), 1<<18)
	if err := c.SendBinary(testCtx(t), big); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, c); !bytes.Equal(m.Data, big) {
		t.Fatalf("echo of %d bytes came back as %d", len(big), len(m.Data))
	}
	if err := srv.Shutdown(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if err := <-served; !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve returned %v", err)
	}
	wantEnd(t, "client", c, "received 1001 (going away); then sent 1001 (going away)", true)
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the socket file is still there after Shutdown: %v", err)
	}
}
