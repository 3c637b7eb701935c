package compress_test

import (
	"fmt"
	"net/http"

	"github.com/tetherws/tether/compress"
	"github.com/tetherws/tether/ws"
)

// Configure permessage-deflate on both sides of an opening handshake, then
// send a compressed message from the server to the client.
func Example() {
	clientExt, err := compress.NewClientFactory(compress.Options{})
	if err != nil {
		panic(err)
	}
	// The server keeps 512-byte windows and leaves short messages alone.
	serverOpts := compress.SmallMemory
	serverOpts.Threshold = 64
	serverExt, err := compress.NewServerFactory(serverOpts)
	if err != nil {
		panic(err)
	}

	client := ws.ClientHandshake{Extensions: []ws.ClientExtensionFactory{clientExt}}
	server := ws.ServerHandshake{Extensions: []ws.ServerExtensionFactory{serverExt}}

	u, _ := ws.ParseURI("ws://example.com/feed")
	req, key, _ := client.Request(u)
	fmt.Println("offer: ", req.Header.Get("Sec-WebSocket-Extensions"))
	header, serverNeg, err := server.Accept(req)
	if err != nil {
		panic(err)
	}
	fmt.Println("answer:", header.Get("Sec-WebSocket-Extensions"))
	clientNeg, err := client.Check(&http.Response{StatusCode: http.StatusSwitchingProtocols, Header: header}, key)
	if err != nil {
		panic(err)
	}
	// The runtime does this when the connection ends.
	defer ws.CloseExtensions(clientNeg.Extensions)
	defer ws.CloseExtensions(serverNeg.Extensions)

	sp := ws.NewProtocol(ws.Server, ws.Config{Extensions: serverNeg.Extensions})
	cp := ws.NewProtocol(ws.Client, ws.Config{Extensions: clientNeg.Extensions})
	msg := []byte(`{"type":"tick","symbol":"BTC-USD","bid":64210.5,"ask":64211.0,"volume":12}`)
	for range 2 {
		wire, _ := sp.AppendData(nil, ws.OpText, true, msg, false)
		_ = cp.Feed(wire)
		ev, _ := cp.Next()
		fmt.Printf("%d-byte message in %d bytes on the wire: %s\n", len(ev.Payload), len(wire), ev.Payload[:14])
	}
	// Output:
	// offer:  permessage-deflate; client_max_window_bits
	// answer: permessage-deflate; server_max_window_bits=9; client_max_window_bits=9
	// 74-byte message in 74 bytes on the wire: {"type":"tick"
	// 74-byte message in 7 bytes on the wire: {"type":"tick"
}

// Python's ServerPerMessageDeflateFactory(server_max_window_bits=10,
// client_max_window_bits=10, compress_settings={"level": 1, "strategy":
// zlib.Z_HUFFMAN_ONLY, "memLevel": 4}) becomes these Options: the
// strategy is the level HuffmanOnly (which makes zlib ignore the level
// too), the window bits are the same, and memLevel has no counterpart
// since compressors are pooled.
func ExampleOptions_pythonCompressSettings() {
	opts := compress.Options{Level: compress.HuffmanOnly, ServerMaxWindowBits: 10, ClientMaxWindowBits: 10}
	server, err := compress.NewServerFactory(opts)
	if err != nil {
		panic(err)
	}
	client, _ := compress.NewClientFactory(compress.Options{})
	params, ext, err := server.Negotiate(client.Offer(), nil)
	if err != nil {
		panic(err)
	}
	defer ws.CloseExtensions([]ws.Extension{ext})
	fmt.Println("answer:", ws.FormatExtensions([]ws.ExtensionOffer{{Name: server.Name(), Params: params}}))
	// Output:
	// answer: permessage-deflate; server_max_window_bits=10; client_max_window_bits=10
}
