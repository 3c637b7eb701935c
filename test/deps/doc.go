// Package deps holds no code: its tests enforce tether's one-way
// dependency rule and keep NATS out of the library's build list, by asking
// the go command (go list) what each package of the module imports.
//
// The rule, by package path: ws imports only the standard library;
// compress builds on ws; keepalive uses no tether package but internal
// ones; runtime and its subpackages build on ws, compress and keepalive;
// reconnect builds on runtime; the root package tether sits on top of the
// library; cmd and test use the library and are used by nothing in it. No
// package of the module imports a NATS package (the NATS broker is a
// module of its own).
package deps
