package main

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/tetherws/tether"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestEchoesAndShutsDownGracefully(t *testing.T) {
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	ready := make(chan string, 1)
	errc := make(chan error, 1)
	go func() { errc <- run(ctx, "127.0.0.1:0", slog.New(slog.DiscardHandler), ready) }()
	var url string
	select {
	case url = <-ready:
	case err := <-errc:
		t.Fatalf("run: %v", err)
	}

	tctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, err := tether.Dial(tctx, url, nil)
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

func TestRunFailsOnABusyAddress(t *testing.T) {
	ctx, stop := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	errc := make(chan error, 1)
	go func() { errc <- run(ctx, "127.0.0.1:0", slog.New(slog.DiscardHandler), ready) }()
	url := <-ready
	addr := url[len("ws://") : len(url)-1]
	if err := run(context.Background(), addr, slog.New(slog.DiscardHandler), make(chan string, 1)); err == nil {
		t.Error("run on a busy address succeeded")
	}
	stop()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}
