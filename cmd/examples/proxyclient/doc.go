// Command proxyclient connects to a WebSocket server through a proxy,
// sends a message and prints the reply.
//
//	go run ./cmd/examples/proxyclient -url wss://echo.example/ -proxy http://user:pw@proxy.corp:3128
//	go run ./cmd/examples/proxyclient -url ws://echo.example/ -proxy socks5h://127.0.0.1:1080
//	https_proxy=http://proxy.corp:3128 go run ./cmd/examples/proxyclient -url wss://echo.example/
//
// -proxy takes http, https, socks5, socks5h, socks4 and socks4a URLs.
// Without it the proxy comes from the environment as in Python websockets
// (ws_proxy / wss_proxy, socks_proxy, https_proxy, http_proxy, all_proxy,
// and no_proxy; see proxy.FromEnvironment); -direct turns proxies
// off.
//
// With no -url it runs a demo on loopback: an echo server, and an HTTP
// CONNECT proxy that wants Basic credentials; it connects through the
// proxy with the right credentials, then shows the error that wrong ones
// give.
package main
