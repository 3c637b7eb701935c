// Command natschat is a chat server that scales out: run it several times
// behind a load balancer, and the instances share their rooms through a
// NATS server, so a message said on any instance reaches the room's
// members on every instance, once.
//
// Each instance keeps its own WebSocket connections in a hub.Hub; the Hub
// publishes through natsbroker (NATS subject "tether.chat.room.<room>")
// and delivers what NATS delivers to its local members. A member too slow
// to keep up is closed with 1008 after 32 messages skipped in a row.
//
// It is a module of its own, so that NATS stays out of tether's go.mod:
// run it from its directory, or with go -C from the repository's root. Run
// a NATS server (Debian: apt-get install nats-server), then two instances
// on two ports:
//
//	nats-server -a 127.0.0.1 -p 4222 &
//	go -C cmd/examples/natschat run . -addr 127.0.0.1:8001 -nats nats://127.0.0.1:4222 &
//	go -C cmd/examples/natschat run . -addr 127.0.0.1:8002 -nats nats://127.0.0.1:4222 &
//
// and join the same room through each, with any WebSocket client, for
// example tether connect (go run ./cmd/tether connect), in two terminals:
//
//	tether connect 'ws://127.0.0.1:8001/chat/lobby?name=ann'
//	tether connect 'ws://127.0.0.1:8002/chat/lobby?name=bob'
//
// Each line typed is said in the room; both terminals print
// "ann: hello" and the "* bob joined on 127.0.0.1:8002" notices. A room
// name is 1 to 64 letters, digits, "-" or "_" (400 Bad Request
// otherwise); ?name= is the nickname. Kill and restart nats-server: the
// instances reconnect by themselves and the rooms work again. Ctrl-C stops
// an instance gracefully (its members get 1001, going away).
//
// Flags:
//
//	-addr host:port  address to listen on (default 127.0.0.1:8001)
//	-nats URL        NATS server(s), comma-separated (default nats://127.0.0.1:4222)
//	-v               log connections and NATS events
package main
