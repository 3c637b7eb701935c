package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/tetherws/tether"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// start runs the example with cfg until the test ends, and returns its
// endpoints and the channel run's result arrives on.
func start(t *testing.T, ctx context.Context, cfg config) (endpoints, <-chan error) {
	t.Helper()
	ready := make(chan endpoints, 1)
	errc := make(chan error, 1)
	go func() { errc <- run(ctx, cfg, ready) }()
	select {
	case e := <-ready:
		return e, errc
	case err := <-errc:
		t.Fatalf("run: %v", err)
	}
	return endpoints{}, nil
}

func TestEchoesAndShutsDownGracefully(t *testing.T) {
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	end, errc := start(t, ctx, config{addr: "127.0.0.1:0", log: slog.New(slog.DiscardHandler)})

	tctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, err := tether.Dial(tctx, end.ws, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()

	cases := []struct {
		typ  tether.Opcode
		data []byte
	}{
		{tether.OpText, []byte("hello, tether")},
		{tether.OpBinary, []byte{0, 1, 2, 0xff}},
		{tether.OpText, []byte("")},
		{tether.OpBinary, bytes.Repeat([]byte("abc"), 100_000)},
	}
	for _, tc := range cases {
		if err := conn.Send(tctx, tc.typ, tc.data); err != nil {
			t.Fatal(err)
		}
	}
	for i, tc := range cases {
		select {
		case m, ok := <-conn.Messages():
			if !ok {
				t.Fatalf("connection ended: %v", conn.Err())
			}
			if m.Type != tc.typ || !bytes.Equal(m.Data, tc.data) {
				t.Fatalf("message %d: got %v of %d bytes, want %v of %d", i, m.Type, len(m.Data), tc.typ, len(tc.data))
			}
		case <-tctx.Done():
			t.Fatal("no echo")
		}
	}

	// SIGINT in main cancels ctx: the server closes with 1001.
	stop()
	if err := <-errc; err != nil {
		t.Fatalf("run returned %v", err)
	}
	for range conn.Messages() {
	}
	if err := conn.Err(); err != nil {
		t.Fatalf("Err after shutdown = %v, want nil", err)
	}
	if st := conn.CloseStatus(); st.Rcvd == nil || st.Rcvd.Code != tether.CloseGoingAway {
		t.Fatalf("received close %v, want 1001", st.Rcvd)
	}
}

var varsRuns atomic.Int64

// TestPublishesItsCountersWithExpvar: /debug/vars shows the server's
// Stats under the name given, as they change.
func TestPublishesItsCountersWithExpvar(t *testing.T) {
	ctx, stop := context.WithCancel(context.Background())
	// expvar names are process-wide: one of its own per run of the test.
	name := fmt.Sprintf("tether_test_%d", varsRuns.Add(1))
	end, errc := start(t, ctx, config{addr: "127.0.0.1:0", varsAddr: "127.0.0.1:0", varsName: name})
	defer func() {
		stop()
		if err := <-errc; err != nil {
			t.Error(err)
		}
	}()
	vars := func() tether.ServerStats {
		t.Helper()
		resp, err := http.Get(end.vars)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var all map[string]json.RawMessage
		if err := json.NewDecoder(resp.Body).Decode(&all); err != nil {
			t.Fatal(err)
		}
		var st tether.ServerStats
		if err := json.Unmarshal(all[name], &st); err != nil {
			t.Fatalf("%s: %v", all[name], err)
		}
		return st
	}
	if st := vars(); st.Opened != 0 || st.Open != 0 {
		t.Fatalf("before any connection: %+v", st)
	}

	tctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, err := tether.Dial(tctx, end.ws, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	for _, text := range []string{"one", "two", "three"} {
		if err := conn.SendText(tctx, text); err != nil {
			t.Fatal(err)
		}
		<-conn.Messages()
	}
	st := vars()
	if st.Open != 1 || st.Opened != 1 || st.MessagesReceived != 3 || st.MessagesSent != 3 ||
		st.MessageBytesReceived != 11 || st.WireBytesReceived == 0 {
		t.Fatalf("after three echoes: %+v", st)
	}
}

func TestRunFailsOnABusyAddress(t *testing.T) {
	ctx, stop := context.WithCancel(context.Background())
	end, errc := start(t, ctx, config{addr: "127.0.0.1:0"})
	addr := end.ws[len("ws://") : len(end.ws)-1]
	if err := run(context.Background(), config{addr: addr}, make(chan endpoints, 1)); err == nil {
		t.Error("run on a busy address succeeded")
	}
	stop()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}
