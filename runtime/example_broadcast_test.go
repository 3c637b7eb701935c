package runtime_test

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/tetherws/tether/compress"
	"github.com/tetherws/tether/runtime"
	"github.com/tetherws/tether/ws"
)

// A chat room: every message a client sends goes to every client.
// Broadcast validates and frames the message once for all of them, skips
// the connections that are closing or too slow to keep up, and never
// waits for one.
func ExampleBroadcast() {
	var mu sync.Mutex
	room := map[*runtime.Conn]bool{}
	members := func() []*runtime.Conn {
		mu.Lock()
		defer mu.Unlock()
		list := make([]*runtime.Conn, 0, len(room))
		for c := range room {
			list = append(list, c)
		}
		return list
	}
	joined := make(chan struct{}, 3)
	srv := &runtime.Server{Handler: func(ctx context.Context, c *runtime.Conn) error {
		mu.Lock()
		room[c] = true
		mu.Unlock()
		defer func() {
			mu.Lock()
			delete(room, c)
			mu.Unlock()
		}()
		joined <- struct{}{}
		for m := range c.Messages() {
			if err := runtime.Broadcast(ctx, members(), m.Type, m.Data); err != nil {
				return err
			}
			m.Release()
		}
		return nil
	}}
	url, stop := listen(srv)
	defer stop()

	ctx := context.Background()
	var clients []*runtime.Conn
	for range 3 {
		c, _, err := runtime.Dial(ctx, url, nil)
		if err != nil {
			fmt.Println(err)
			return
		}
		defer c.Close(ws.CloseNormal, "")
		clients = append(clients, c)
		<-joined
	}
	_ = clients[0].SendText(ctx, "hello, room")
	for i, c := range clients {
		m := <-c.Messages()
		fmt.Printf("client %d: %s\n", i, m.Text())
	}
	// Output:
	// client 0: hello, room
	// client 1: hello, room
	// client 2: hello, room
}

// A ticker feed to many clients with compression tuned for broadcasting:
// the server compresses each message on its own (no server context
// takeover), so Broadcast compresses a tick once for every client instead
// of once per client. Idle clients keep their receive windows compressed
// after IdleAfter.
func ExampleBroadcast_compressOnce() {
	joined := make(chan *runtime.Conn, 2)
	srv := &runtime.Server{
		Handler: func(ctx context.Context, c *runtime.Conn) error {
			joined <- c
			<-c.Done()
			return nil
		},
		Options: runtime.ServerOptions{Options: runtime.Options{
			Compression: &compress.Options{ServerNoContextTakeover: true, IdleAfter: 30 * time.Second},
		}},
	}
	url, stop := listen(srv)
	defer stop()

	ctx := context.Background()
	var clients, conns []*runtime.Conn
	for range 2 {
		c, _, err := runtime.Dial(ctx, url, nil)
		if err != nil {
			fmt.Println(err)
			return
		}
		defer c.Close(ws.CloseNormal, "")
		clients = append(clients, c)
		conns = append(conns, <-joined)
	}
	fmt.Println("negotiated:", clients[0].Response().Header.Get("Sec-WebSocket-Extensions"))
	tick := []byte(`{"type":"tick","symbol":"BTC-USD","bid":64210.5,"ask":64211.0}`)
	if err := runtime.Broadcast(ctx, conns, ws.OpText, tick); err != nil {
		fmt.Println(err)
		return
	}
	for i, c := range clients {
		m := <-c.Messages()
		fmt.Printf("client %d: %s\n", i, m.Data[:14])
		m.Release()
	}
	// Output:
	// negotiated: permessage-deflate; server_no_context_takeover; server_max_window_bits=12; client_max_window_bits=12
	// client 0: {"type":"tick"
	// client 1: {"type":"tick"
}
