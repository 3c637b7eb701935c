// Package natsbroker connects the Hubs of several tether server instances
// through a NATS server: a hub.Broker on the official client,
// github.com/nats-io/nats.go.
//
// It is a module of its own, so that the programs that use tether without
// NATS do not depend on the NATS client; a program that uses it adds it
// with
//
//	go get github.com/tetherws/tether/runtime/hub/natsbroker
//
// Each topic is the NATS subject Prefix+topic (Prefix is "tether.hub." by
// default), so several services, or several environments, can share one
// NATS server under different prefixes. A topic is one or more NATS subject
// tokens separated by dots: no wildcard ("*", ">"), no white space or
// control character, no empty token, at most MaxTopicLen bytes.
//
//	b, err := natsbroker.Connect("nats://127.0.0.1:4222", nil)
//	if err != nil { ... }
//	defer b.Close()
//	h := hub.New(hub.Options{Broker: b})
//	defer h.Close()
//
// Connect keeps reconnecting to the NATS server for as long as the Broker
// is open (nats.MaxReconnects(-1)), with a short wait and jitter between
// attempts; nats.go resubscribes every subscription after a reconnect and
// buffers what is published meanwhile (nats.ReconnectBufSize, 8 MiB by
// default). Messages published while no NATS server is reachable and past
// that buffer are lost: NATS core is at-most-once, as a WebSocket fan-out
// is.
package natsbroker
