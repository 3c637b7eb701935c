package ws_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/tetherws/tether/ws"
)

// Parse a frame header from received bytes, then unmask its payload.
func ExampleParseHeader() {
	// RFC 6455 §5.7: a masked text frame carrying "Hello".
	frame := []byte{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}

	h, n, err := ws.ParseHeader(frame)
	if err != nil {
		fmt.Println(err)
		return
	}
	payload := frame[n : n+int(h.Length)]
	ws.Mask(h.Mask, 0, payload)
	fmt.Println(h.Opcode, h.Fin, h.Masked, h.Length)
	fmt.Printf("%s\n", payload)

	// A partial header is not an error: feed more bytes.
	_, _, err = ws.ParseHeader(frame[:1])
	fmt.Println(errors.Is(err, ws.ErrNeedMore))
	// Output:
	// TEXT true true 5
	// Hello
	// true
}

// Build a frame header: the length uses the shortest encoding.
func ExampleAppendHeader() {
	h := ws.Header{Fin: true, Opcode: ws.OpBinary, Length: 300}
	fmt.Printf("% x\n", ws.AppendHeader(nil, h))
	// Output:
	// 82 7e 01 2c
}

// Drive a Protocol on each side: the client sends a fragmented message, a
// ping and a close; the server receives them, answers the ping and echoes
// the close.
func ExampleProtocol() {
	client := ws.NewProtocol(ws.Client, ws.Config{})
	server := ws.NewProtocol(ws.Server, ws.Config{})

	// Client: the Append methods check the rules and return wire bytes.
	wire, _ := client.AppendData(nil, ws.OpText, false, []byte("Hello, "), false)
	wire, _ = client.AppendData(wire, ws.OpContinuation, true, []byte("world"), false)
	wire, _ = client.AppendPing(wire, []byte("are you there?"))
	wire, _ = client.AppendClose(wire, ws.CloseNormal, "done")

	// Server: Feed what was read, then Next until EventNone.
	if err := server.Feed(wire); err != nil {
		fmt.Println(err)
		return
	}
	var msg []byte
	for {
		ev, err := server.Next()
		if err != nil {
			fmt.Println("failed:", err) // the close frame to send is queued
			break
		}
		if ev.Kind == ws.EventNone {
			break
		}
		switch ev.Kind {
		case ws.EventData:
			msg = append(msg, ev.Payload...) // Payload is only valid until the next call
			if ev.Fin {
				fmt.Printf("%v message: %s\n", ev.Opcode, msg)
			}
		case ws.EventPing:
			fmt.Printf("ping: %s\n", ev.Payload)
		case ws.EventClose:
			fmt.Println("close:", ev.Close)
		}
	}

	// The server queued a pong and the echo of the close frame; it closes
	// the TCP connection first.
	reply := server.TakeOutput(nil)
	fmt.Println("server closes the transport:", server.CloseTransport())

	// Client: receive the reply, then the server's EOF.
	_ = client.Feed(reply)
	for {
		ev, _ := client.Next()
		if ev.Kind == ws.EventNone {
			break
		}
		fmt.Println("client got", ev.Kind)
	}
	client.FeedEOF()
	err := client.CloseError(nil)
	fmt.Println(err, "- clean:", err.OK())
	// Output:
	// TEXT message: Hello, world
	// ping: are you there?
	// close: 1000 (OK) done
	// server closes the transport: true
	// client got pong
	// client got close
	// sent 1000 (OK) done; then received 1000 (OK) done - clean: true
}

// A peer that breaks the protocol fails the connection with the right
// close code, which is queued for sending.
func ExampleProtocol_failure() {
	server := ws.NewProtocol(ws.Server, ws.Config{MaxMessageSize: 1024})
	// A masked binary frame header declaring 1 MiB: refused before any
	// payload arrives.
	header := ws.AppendHeader(nil, ws.Header{Fin: true, Opcode: ws.OpBinary, Masked: true, Length: 1 << 20})
	_ = server.Feed(header)
	_, err := server.Next()
	fmt.Println(err, errors.Is(err, ws.ErrMessageTooBig))
	fmt.Println(server.CloseError(nil))
	// Output:
	// ws: frame with 1048576 bytes exceeds limit of 1024 bytes true
	// sent 1009 (message too big) frame with 1048576 bytes exceeds limit of 1024 bytes; no close frame received
}

// Build the client's handshake request, let a server accept it, and check
// the server's response.
func ExampleClientHandshake() {
	u, err := ws.ParseURI("ws://example.com/chat")
	if err != nil {
		fmt.Println(err)
		return
	}
	client := &ws.ClientHandshake{Subprotocols: []string{"chat.v2", "chat.v1"}, OmitUserAgent: true}
	req, key, err := client.Request(u)
	if err != nil {
		fmt.Println(err)
		return
	}
	head, _ := ws.AppendRequest(nil, req)

	// Server side: parse the request head and accept it.
	r, _, err := ws.ParseRequest(head, ws.Limits{})
	if err != nil {
		fmt.Println(err)
		return
	}
	server := &ws.ServerHandshake{Subprotocols: []string{"chat.v1"}}
	h, n, err := server.Accept(r)
	if err != nil {
		status, _, body := ws.RejectResponse(err)
		fmt.Println(status, string(body))
		return
	}
	fmt.Println("server chose", n.Subprotocol)
	resp, _ := ws.AppendResponse(nil, http.StatusSwitchingProtocols, h, nil)

	// Client side: parse the response and check it.
	parsed, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(resp)), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	got, err := client.Check(parsed, key)
	fmt.Println("client agreed on", got.Subprotocol, err)
	// Output:
	// server chose chat.v1
	// client agreed on chat.v1 <nil>
}

// A server rejects a request that is not a WebSocket upgrade with the
// status and plain-text body that RejectResponse gives.
func ExampleRejectResponse() {
	head := []byte("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n")
	r, _, _ := ws.ParseRequest(head, ws.Limits{})
	_, _, err := (&ws.ServerHandshake{}).Accept(r)
	status, h, body := ws.RejectResponse(err)
	fmt.Println(status, h.Get("Upgrade"))
	fmt.Print(string(body))
	// Output:
	// 426 websocket
	// Failed to open a WebSocket connection: invalid Connection header: "".
	//
	// You cannot access a WebSocket server directly with a browser. You need a WebSocket client.
}

// A reader that assembles a large message reads the rest of a frame
// straight into its message buffer: PayloadRemaining says how much of the
// frame is still to come, FeedPayload unmasks and checks those bytes in
// place.
func ExampleProtocol_FeedPayload() {
	client := ws.NewProtocol(ws.Client, ws.Config{})
	server := ws.NewProtocol(ws.Server, ws.Config{})
	wire, _ := client.AppendData(nil, ws.OpText, true, bytes.Repeat([]byte("ab"), 5000), false)

	// The first read: the header and the first bytes of the payload.
	first := wire[:1000]
	_ = server.Feed(first)
	var msg []byte
	for {
		ev, _ := server.Next()
		if ev.Kind == ws.EventNone {
			break
		}
		msg = append(msg, ev.Payload...)
	}
	rest := server.PayloadRemaining()
	fmt.Println("after the first read:", len(msg), "bytes,", rest, "to come")

	// The next read goes into the message buffer itself (here a copy of
	// what the socket would give).
	msg = slices.Grow(msg, int(rest))
	dst := msg[len(msg) : len(msg)+int(rest)]
	n := copy(dst, wire[1000:])
	ev, err := server.FeedPayload(dst[:n])
	if err != nil {
		fmt.Println(err)
		return
	}
	msg = msg[:len(msg)+n]
	fmt.Println("fin:", ev.Fin, "message:", len(msg), "bytes, valid:", bytes.Equal(msg, bytes.Repeat([]byte("ab"), 5000)))
	// Output:
	// after the first read: 992 bytes, 9008 to come
	// fin: true message: 10000 bytes, valid: true
}
