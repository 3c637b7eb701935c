// An external test package: test files of package xconnect itself would
// make it import net/http, and so be initialized after it.
package xconnect_test

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"golang.org/x/net/http2"

	_ "github.com/tetherws/tether/runtime/xconnect"
)

// TestServerAdvertisesExtendedConnect proves the init order: net/http saw
// the setting, so its HTTP/2 server advertises
// SETTINGS_ENABLE_CONNECT_PROTOCOL=1 (RFC 8441 §3).
func TestServerAdvertisesExtendedConnect(t *testing.T) {
	if v := os.Getenv("GODEBUG"); !strings.Contains(v, "http2xconnect=") {
		t.Fatalf("GODEBUG = %q", v)
	}
	if strings.Contains(os.Getenv("GODEBUG"), "http2xconnect=0") {
		t.Skip("turned off in the environment")
	}
	ts := httptest.NewUnstartedServer(http.NotFoundHandler())
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	ts.Config.Protocols = p
	ts.Start()
	defer ts.Close()
	nc, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if _, err := io.WriteString(nc, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(nc, nc)
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	f, err := fr.ReadFrame()
	if err != nil {
		t.Fatal(err)
	}
	sf, ok := f.(*http2.SettingsFrame)
	if !ok {
		t.Fatalf("first frame %v, want SETTINGS", f)
	}
	if v, ok := sf.Value(http2.SettingEnableConnectProtocol); !ok || v != 1 {
		t.Fatalf("SETTINGS_ENABLE_CONNECT_PROTOCOL = %d (sent: %v), want 1", v, ok)
	}
}
