// Command wsclient is an interactive WebSocket client, like
// `python -m websockets <uri>`: it sends each line read from standard
// input as a text message and prints every message received, prefixed
// with "< ".
//
//	go run ./cmd/examples/wsclient ws://127.0.0.1:9001/
//	go run ./cmd/examples/wsclient -insecure -H 'Authorization: Bearer x' wss://localhost:8443/
//
// Flags:
//
//	-insecure          skip TLS certificate verification (wss://)
//	-H 'Name: value'   extra request header (repeatable)
//	-subprotocol a,b   subprotocols to offer, in order of preference
//	-origin URL        Origin header
//	-proxy URL         proxy (http, https, socks5, socks5h, socks4, socks4a)
//	-no-proxy          connect directly, ignoring the proxy environment
//	-ping 5s           send a ping every interval and print the round trip
//	-binary            send lines as binary messages
//
// Input lines beginning with "/" are commands:
//
//	/ping [payload]        send a ping and print the round trip time
//	/close [code] [reason] close with code (default 1000) and reason
//	/binary hex...         send the bytes as a binary message
//	//text                 send "/text"
//
// End of input (Ctrl-D) or Ctrl-C closes with 1000 and waits for the
// closing handshake. A binary message received is printed as
// "< (binary) N bytes: <hex of the first 64 bytes>". The exit status is 0
// when the connection closed cleanly (1000/1001 both ways, or the code
// asked for with /close acknowledged by the server), else 1 with the close
// error on standard error.
package main
