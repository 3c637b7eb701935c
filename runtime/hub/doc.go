// Package hub fans messages out to WebSocket connections grouped by topic,
// on one server instance or, through a Broker such as NATS, across every
// instance of a service behind a load balancer.
//
// A Hub tracks which connections are subscribed to which topics:
//
//	h := hub.New(hub.Options{})
//	srv := &runtime.Server{Handler: func(ctx context.Context, c *runtime.Conn) error {
//		if err := h.Subscribe(c, "lobby"); err != nil {
//			return err
//		}
//		for m := range c.Messages() {
//			_ = h.Publish(ctx, "lobby", m.Type, m.Data)
//		}
//		return nil
//	}}
//
// A connection leaves every topic by itself when it ends: the Hub
// registers one context.AfterFunc on the connection's Context (not a
// goroutine: it costs a few words until the connection ends) when the
// connection first subscribes, and stops it when the connection leaves its
// last topic.
//
// # Fan-out and slow clients
//
// Publish hands a message to runtime.BroadcastWith once for all the
// local subscribers of a topic: the message is validated once, framed once
// for all the connections without compression (each compressed connection
// compresses it with its own context), and no subscriber can hold up the
// others. A connection with more than
// runtime.Options.WriteLimit bytes still queued is skipped and counted
// (Stats.Slow); with Options.SlowLimit set, a connection skipped that many
// times in a row is removed from the Hub and closed with 1008 (policy
// violation, "too slow").
//
// # Several instances
//
// With Options.Broker set, Publish does not deliver locally: it publishes
// to the broker, and each Hub delivers what the broker delivers to its own
// subscribers. Every instance, the publishing one included, therefore
// delivers each message exactly once. A Hub holds one broker subscription
// per topic with local subscribers, taken when the first connection
// subscribes and dropped when the last one leaves. MemoryBroker connects
// the Hubs of one process (tests, or one instance); package
// github.com/tetherws/tether/runtime/hub/natsbroker connects processes
// through a NATS server (it is a module of its own, so that only the
// programs that use NATS depend on the NATS client).
//
// On the broker, a message is one byte for its type (the WebSocket opcode:
// 1 for text, 2 for binary) followed by its data, so that programs other
// than a Hub can publish to a topic too. Hubs drop, and count in
// Stats.Dropped, broker messages that do not have this form.
package hub
