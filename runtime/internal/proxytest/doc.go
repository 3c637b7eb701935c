// Package proxytest runs loopback HTTP CONNECT (http and https) and SOCKS
// (5, 4 and 4a) proxies that record what clients ask of them, for the
// tests of package proxy and of the runtime's Dial.
package proxytest
