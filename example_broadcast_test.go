package tether_test

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/tetherws/tether"
	"github.com/tetherws/tether/compress"
)

// A chat room: every message a client sends goes to every client.
// Broadcast validates and frames the message once for all of them, skips
// the connections that are closing or too slow to keep up, and never
// waits for one.
func ExampleBroadcast() {
	var mu sync.Mutex
	room := map[*tether.Conn]bool{}
	members := func() []*tether.Conn {
		mu.Lock()
		defer mu.Unlock()
		list := make([]*tether.Conn, 0, len(room))
		for c := range room {
			list = append(list, c)
		}
		return list
	}
	joined := make(chan struct{}, 3)
	url, stop := listen(&tether.Server{Handler: func(ctx context.Context, c *tether.Conn) error {
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
			if err := tether.Broadcast(ctx, members(), m.Type, m.Data); err != nil {
				return err
			}
			m.Release()
		}
		return nil
	}})
	defer stop()

	ctx := context.Background()
	var clients []*tether.Conn
	for range 3 {
		c, _, err := tether.Dial(ctx, url, nil)
		if err != nil {
			fmt.Println(err)
			return
		}
		defer c.Close(tether.CloseNormal, "")
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

// A ticker feed to many clients with compression tuned for broadcasting
// (package compress holds the settings): the server compresses each
// message on its own (no server context takeover), so Broadcast
// compresses a tick once for every client instead of once per client.
// Idle clients keep their receive windows compressed after IdleAfter.
func ExampleBroadcast_compressOnce() {
	joined := make(chan *tether.Conn, 2)
	url, stop := listen(&tether.Server{
		Handler: func(ctx context.Context, c *tether.Conn) error {
			joined <- c
			<-c.Done()
			return nil
		},
		Options: tether.ServerOptions{Options: tether.Options{
			Compression: &compress.Options{ServerNoContextTakeover: true, IdleAfter: 30 * time.Second},
		}},
	})
	defer stop()

	ctx := context.Background()
	var clients, conns []*tether.Conn
	for range 2 {
		c, _, err := tether.Dial(ctx, url, nil)
		if err != nil {
			fmt.Println(err)
			return
		}
		defer c.Close(tether.CloseNormal, "")
		clients = append(clients, c)
		conns = append(conns, <-joined)
	}
	fmt.Println("negotiated:", clients[0].Response().Header.Get("Sec-WebSocket-Extensions"))
	tick := []byte(`{"type":"tick","symbol":"BTC-USD","bid":64210.5,"ask":64211.0}`)
	if err := tether.Broadcast(ctx, conns, tether.OpText, tick); err != nil {
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
