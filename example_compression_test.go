package tether_test

import (
	"context"
	"fmt"

	"github.com/tetherws/tether"
	"github.com/tetherws/tether/compress"
)

// Compression settings go in Options.Compression. Python's
// compress_settings={"strategy": zlib.Z_HUFFMAN_ONLY} with 10-bit windows
// is Level compress.HuffmanOnly and ServerMaxWindowBits and
// ClientMaxWindowBits 10; memLevel has no counterpart, since compressors
// are pooled. cmd/examples/deflatetune measures the settings on your
// messages.
func ExampleOptions_compression() {
	settings := &compress.Options{Level: compress.HuffmanOnly, ServerMaxWindowBits: 10, ClientMaxWindowBits: 10}
	url, stop := listen(&tether.Server{
		Handler: func(ctx context.Context, c *tether.Conn) error { return c.SendText(ctx, "compressed") },
		Options: tether.ServerOptions{Options: tether.Options{Compression: settings}},
	})
	defer stop()

	conn, resp, err := tether.Dial(context.Background(), url, &tether.DialOptions{Options: tether.Options{Compression: settings}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.CloseNow()
	fmt.Println(resp.Header.Get("Sec-WebSocket-Extensions"))
	fmt.Println((<-conn.Messages()).Text())
	// Output:
	// permessage-deflate; server_max_window_bits=10; client_max_window_bits=10
	// compressed
}
