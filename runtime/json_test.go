package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tetherws/tether/ws"
)

type event struct {
	Kind string `json:"kind"`
	N    int    `json:"n"`
}

// A value sent with Send arrives as one text message of its JSON, and
// Receive decodes it.
func TestJSONSendAndReceive(t *testing.T) {
	client, server := pair(t, nil, nil)
	ctx := testCtx(t)
	if err := (JSON[event]{Conn: client}).Send(ctx, event{"join", 1}); err != nil {
		t.Fatal(err)
	}
	if err := SendJSON(ctx, client, map[string]int{"n": 2}); err != nil {
		t.Fatal(err)
	}
	m := recv(t, server)
	if m.Type != ws.OpText || m.Text() != `{"kind":"join","n":1}` {
		t.Fatalf("got %v %q", m.Type, m.Data)
	}
	ev, err := ReceiveJSON[event](ctx, server)
	if err != nil || ev != (event{N: 2}) {
		t.Fatalf("ReceiveJSON: %+v, %v", ev, err)
	}
}

// A message that is not JSON for the type is a *DecodeError with the
// message; the next message decodes and the connection stays clean.
func TestJSONBadMessageIsAnErrorNotAFailure(t *testing.T) {
	client, server := pair(t, nil, nil)
	ctx := testCtx(t)
	for _, s := range []string{`{"kind":`, `{"kind":5}`, `{"kind":"ok","n":3}`} {
		if err := client.SendText(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []string{`{"kind":`, `{"kind":5}`} {
		_, err := ReceiveJSON[event](ctx, server)
		var de *DecodeError
		if !errors.As(err, &de) || string(de.Data) != want || de.Type != ws.OpText {
			t.Fatalf("got %v, want a *DecodeError for %q", err, want)
		}
		if !strings.Contains(err.Error(), "runtime.event") {
			t.Errorf("the error does not name the type: %v", err)
		}
	}
	ev, err := ReceiveJSON[event](ctx, server)
	if err != nil || ev != (event{"ok", 3}) {
		t.Fatalf("after the bad messages: %+v, %v", ev, err)
	}
	client.Close(ws.CloseNormal, "")
	if _, err := ReceiveJSON[event](ctx, server); err != io.EOF {
		t.Fatalf("after the close: %v, want io.EOF", err)
	}
	if err := server.Err(); err != nil {
		t.Fatalf("Err: %v", err)
	}
}

// All yields every message decoded, a *DecodeError for a bad one, and
// ends when the connection does; binary messages decode too.
func TestJSONAllRangesUntilTheEnd(t *testing.T) {
	client, server := pair(t, nil, nil)
	ctx := testCtx(t)
	client.SendText(ctx, `{"n":1}`)
	client.SendText(ctx, `nope`)
	client.SendBinary(ctx, []byte(`{"n":2}`))
	go client.Close(ws.CloseNormal, "")
	var got []int
	bad := 0
	for ev, err := range (JSON[event]{Conn: server}).All() {
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("All yielded %v", err)
			}
			bad++
			continue
		}
		got = append(got, ev.N)
	}
	if len(got) != 2 || got[0] != 1 || got[1] != 2 || bad != 1 {
		t.Fatalf("got %v and %d bad, want [1 2] and 1", got, bad)
	}
}

// countingCodec is encoding/json behind a codec of the application's.
type countingCodec struct{ marshal, unmarshal atomic.Int32 }

func (c *countingCodec) Marshal(v any) ([]byte, error) {
	c.marshal.Add(1)
	return json.Marshal(v)
}

func (c *countingCodec) Unmarshal(b []byte, v any) error {
	c.unmarshal.Add(1)
	return json.Unmarshal(b, v)
}

// A codec of the application's encodes and decodes instead of
// encoding/json; its output is validated as text.
func TestJSONUsesThePluggedCodec(t *testing.T) {
	client, server := pair(t, nil, nil)
	ctx := testCtx(t)
	codec := &countingCodec{}
	if err := (JSON[event]{Conn: client, Codec: codec}).Send(ctx, event{"x", 7}); err != nil {
		t.Fatal(err)
	}
	ev, err := JSON[event]{Conn: server, Codec: codec}.Receive(ctx)
	if err != nil || ev != (event{"x", 7}) {
		t.Fatalf("Receive: %+v, %v", ev, err)
	}
	if codec.marshal.Load() != 1 || codec.unmarshal.Load() != 1 {
		t.Fatalf("codec used %d/%d times, want 1/1", codec.marshal.Load(), codec.unmarshal.Load())
	}
	bad := JSON[string]{Conn: client, Codec: latin1Codec{}}
	if err := bad.Send(ctx, "é"); !errors.Is(err, ErrInvalidUTF8) {
		t.Fatalf("invalid UTF-8 from a codec: %v, want ErrInvalidUTF8", err)
	}
}

// latin1Codec produces bytes that are not UTF-8.
type latin1Codec struct{}

func (latin1Codec) Marshal(any) ([]byte, error) { return []byte{'"', 0xe9, '"'}, nil }
func (latin1Codec) Unmarshal([]byte, any) error { return nil }

// Receive honours its ctx and takes nothing when it ends; an encoding
// error sends nothing.
func TestJSONReceiveCancelledAndEncodingErrors(t *testing.T) {
	client, server := pair(t, nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ReceiveJSON[event](ctx, server); !errors.Is(err, context.Canceled) {
		t.Fatalf("Receive with a cancelled ctx: %v", err)
	}
	if err := SendJSON(testCtx(t), client, func() {}); err == nil || !strings.HasPrefix(err.Error(), "tether: ") {
		t.Fatalf("SendJSON of a func: %v", err)
	}
	client.SendText(testCtx(t), `{"n":9}`)
	if ev, err := ReceiveJSON[event](testCtx(t), server); err != nil || ev.N != 9 {
		t.Fatalf("%+v, %v", ev, err)
	}
}

// With Options.Streaming, Receive reads the pieces of one message.
func TestJSONReceiveWithStreaming(t *testing.T) {
	client, server := pair(t, &ServerOptions{Options: Options{Streaming: true}}, nil)
	ctx := testCtx(t)
	err := client.SendFragments(ctx, ws.OpText, func(yield func([]byte) bool) {
		_ = yield([]byte(`{"kind":"fr`)) && yield([]byte(`ag","n":4}`))
	})
	if err != nil {
		t.Fatal(err)
	}
	if ev, err := ReceiveJSON[event](ctx, server); err != nil || ev != (event{"frag", 4}) {
		t.Fatalf("%+v, %v", ev, err)
	}
}
