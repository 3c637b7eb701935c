package runtime

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"sync"
	"testing"
	"time"

	"github.com/tetherws/tether/ws"
)

// fragments yields each string as a fragment.
func fragments(parts ...string) iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		for _, p := range parts {
			if !yield([]byte(p)) {
				return
			}
		}
	}
}

func TestSendFragmentsSendsOneFramePerFragmentAndAnEmptyFinalFrame(t *testing.T) {
	tests := []struct {
		name  string
		typ   ws.Opcode
		parts []string
	}{
		{"text split inside a code point", ws.OpText, []string{"h\xc3", "\xa9llo", " wörld"}},
		{"binary", ws.OpBinary, []string{"\x00\x01", "", "\xff"}},
		{"one fragment", ws.OpText, []string{"whole"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, peer := dialRaw(t, nil)
			if err := c.SendFragments(testCtx(t), tt.typ, fragments(tt.parts...)); err != nil {
				t.Fatal(err)
			}
			op := tt.typ
			for _, p := range tt.parts {
				f := peer.expect(op)
				if f.Fin || string(f.Payload) != p {
					t.Fatalf("frame %+v, want %q", f, p)
				}
				op = ws.OpContinuation
			}
			if f := peer.expect(ws.OpContinuation); !f.Fin || len(f.Payload) != 0 {
				t.Fatalf("final frame %+v", f)
			}
		})
	}
}

func TestSendFragmentsAreReassembledByThePeer(t *testing.T) {
	client, server := pair(t, nil, nil)
	ctx := testCtx(t)
	if err := client.SendFragments(ctx, ws.OpText, fragments("h\xc3", "\xa9llo", " wörld")); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, server); m.Type != ws.OpText || m.Text() != "héllo wörld" || !m.First || !m.Fin {
		t.Fatalf("got %v %q", m.Type, m.Data)
	}
	// An empty sequence sends nothing.
	if err := client.SendFragments(ctx, ws.OpBinary, fragments()); err != nil {
		t.Fatal(err)
	}
	w, err := server.NewMessageWriter(ctx, ws.OpBinary, SendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"ab", "cd", "ef"} {
		if _, err := w.Write([]byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
	if _, err := w.Write([]byte("x")); err == nil {
		t.Fatal("Write after Close succeeded")
	}
	if m := recv(t, client); m.Type != ws.OpBinary || string(m.Data) != "abcdef" {
		t.Fatalf("got %v %q", m.Type, m.Data)
	}
}

func TestSendWaitsUntilAFragmentedMessageEnds(t *testing.T) {
	client, server := pair(t, nil, nil)
	ctx := testCtx(t)
	w, err := client.NewMessageWriter(ctx, ws.OpText, SendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("frag-")); err != nil {
		t.Fatal(err)
	}
	// Another Send waits for the message to end...
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := client.SendText(short, "interloper"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Send during a fragmented message = %v, want it to wait", err)
	}
	if _, err := client.NewMessageWriter(short, ws.OpText, SendOptions{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("NewMessageWriter during a fragmented message = %v, want it to wait", err)
	}
	res := make(chan error, 1)
	go func() { res <- client.SendText(ctx, "next") }()
	if _, err := w.Write([]byte("mented")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-res; err != nil {
		t.Fatal(err)
	}
	if m := recv(t, server); m.Text() != "frag-mented" {
		t.Fatalf("got %q", m.Data)
	}
	if m := recv(t, server); m.Text() != "next" {
		t.Fatalf("got %q", m.Data)
	}
}

func TestConcurrentSendsAndFragmentedSendsNeverInterleave(t *testing.T) {
	client, server := pair(t, nil, nil)
	ctx := testCtx(t)
	const senders, each = 8, 20
	var wg sync.WaitGroup
	for g := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				body := fmt.Sprintf("g%d-m%d-", g, i)
				var err error
				if i%2 == 0 {
					err = client.SendFragments(ctx, ws.OpText, fragments(body, "x", "y", "z"))
				} else {
					err = client.SendText(ctx, body+"xyz")
				}
				if err != nil {
					t.Errorf("send: %v", err)
					return
				}
			}
		}()
	}
	next := make(map[int]int)
	for range senders * each {
		m := recv(t, server)
		var g, i int
		if _, err := fmt.Sscanf(m.Text(), "g%d-m%d-xyz", &g, &i); err != nil || m.Text() != fmt.Sprintf("g%d-m%d-xyz", g, i) {
			t.Fatalf("garbled message %q", m.Data)
		}
		if i != next[g] {
			t.Fatalf("sender %d: message %d arrived before %d", g, i, next[g])
		}
		next[g]++
	}
	wg.Wait()
}

func TestSendFragmentsCancelledMidMessageFailsWith1011(t *testing.T) {
	client, server := pair(t, nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	seq := func(yield func([]byte) bool) {
		if !yield([]byte("first")) {
			return
		}
		cancel() // the message cannot be finished now
		yield([]byte("second"))
	}
	if err := client.SendFragments(ctx, ws.OpText, seq); !errors.Is(err, context.Canceled) {
		t.Fatalf("SendFragments = %v", err)
	}
	const f = "1011 (internal error) error in fragmented message"
	wantEnd(t, "client", client, "sent "+f+"; then received "+f, false)
	wantEnd(t, "server", server, "received "+f+"; then sent "+f, false)
}

func TestSendFragmentsCancelledBeforeTheFirstFragmentSendsNothing(t *testing.T) {
	client, server := pair(t, nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := client.SendFragments(ctx, ws.OpText, fragments("a", "b")); !errors.Is(err, context.Canceled) {
		t.Fatalf("SendFragments = %v", err)
	}
	if err := client.SendText(testCtx(t), "next"); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, server); m.Text() != "next" {
		t.Fatalf("got %q", m.Data)
	}
}

func TestFragmentedTextMustBeValidUTF8(t *testing.T) {
	t.Run("invalid first fragment sends nothing", func(t *testing.T) {
		client, server := pair(t, nil, nil)
		if err := client.SendFragments(testCtx(t), ws.OpText, fragments("\xff", "ok")); !errors.Is(err, ws.ErrInvalidUTF8) {
			t.Fatalf("SendFragments = %v", err)
		}
		if err := client.SendText(testCtx(t), "next"); err != nil {
			t.Fatal(err)
		}
		if m := recv(t, server); m.Text() != "next" {
			t.Fatalf("got %q", m.Data)
		}
	})
	t.Run("invalid later fragment fails the connection", func(t *testing.T) {
		client, server := pair(t, nil, nil)
		if err := client.SendFragments(testCtx(t), ws.OpText, fragments("ok", "\xff")); !errors.Is(err, ws.ErrInvalidUTF8) {
			t.Fatalf("SendFragments = %v", err)
		}
		const f = "1011 (internal error) error in fragmented message"
		wantEnd(t, "client", client, "sent "+f+"; then received "+f, false)
		wantEnd(t, "server", server, "received "+f+"; then sent "+f, false)
	})
	t.Run("message writer: nothing written yet", func(t *testing.T) {
		client, server := pair(t, nil, nil)
		w, err := client.NewMessageWriter(testCtx(t), ws.OpText, SendOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte("\xff")); !errors.Is(err, ws.ErrInvalidUTF8) {
			t.Fatalf("Write = %v", err)
		}
		if err := w.Close(); !errors.Is(err, ws.ErrInvalidUTF8) {
			t.Fatalf("Close = %v", err)
		}
		if err := client.SendText(testCtx(t), "next"); err != nil {
			t.Fatalf("the connection did not survive: %v", err)
		}
		if m := recv(t, server); m.Text() != "next" {
			t.Fatalf("got %q", m.Data)
		}
	})
	t.Run("message writer: truncated code point at Close", func(t *testing.T) {
		client, server := pair(t, nil, nil)
		w, err := client.NewMessageWriter(testCtx(t), ws.OpText, SendOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte("h\xc3")); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); !errors.Is(err, ws.ErrInvalidUTF8) {
			t.Fatalf("Close = %v", err)
		}
		const f = "1011 (internal error) error in fragmented message"
		wantEnd(t, "server", server, "received "+f+"; then sent "+f, false)
	})
}

func TestCloseDuringAFragmentedMessageFailsWith1011(t *testing.T) {
	client, server := pair(t, nil, nil)
	w, err := client.NewMessageWriter(testCtx(t), ws.OpBinary, SendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("part")); err != nil {
		t.Fatal(err)
	}
	if err := client.Close(ws.CloseNormal, "bye"); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); !errors.Is(err, ws.ErrClosed) {
		t.Fatalf("MessageWriter.Close after Close = %v", err)
	}
	const f = "1011 (internal error) close during fragmented message"
	wantEnd(t, "client", client, "sent "+f+"; then received "+f, false)
	wantEnd(t, "server", server, "received "+f+"; then sent "+f, false)
}
