package soak

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain runs the tests, or, started by Run as the server process
// (ServerEnv set), the server.
func TestMain(m *testing.M) {
	if config, ok := os.LookupEnv(ServerEnv); ok {
		if err := ServeChild(config, os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}
