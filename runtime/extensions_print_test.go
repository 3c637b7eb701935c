package runtime

import (
	"fmt"
	"testing"
)

// Printing a connection's extensions shows what was negotiated, as the
// Sec-WebSocket-Extensions header of the response says it, not pointers.
func TestExtensionsPrintAsNegotiated(t *testing.T) {
	client, server := pair(t, nil, nil)
	header := client.Response().Header.Get("Sec-WebSocket-Extensions")
	if header == "" {
		t.Fatal("no extension negotiated")
	}
	for name, c := range map[string]*Conn{"client": client, "server": server} {
		if got, want := fmt.Sprint(c.Extensions()), "["+header+"]"; got != want {
			t.Errorf("%s: fmt.Sprint(Extensions()) = %s, want %s", name, got, want)
		}
	}
}
