// Package runtime runs WebSocket connections: Dial for clients, Accept and
// Server for servers, and Conn, whose received messages arrive on a channel.
//
// Each connection runs three goroutines: a reader that parses frames with
// the sans-I/O protocol of package ws and delivers messages to Messages(),
// a writer that owns every write to the socket and coalesces queued frames
// into one system call, and a keepalive goroutine that pings the peer and
// fails the connection when it stops answering. The first to fail takes
// the others down; Done is closed when all three have returned, and Err
// then says how the connection ended.
//
//	conn, _, err := runtime.Dial(ctx, "ws://localhost:9001/", nil)
//	if err != nil { ... }
//	defer conn.Close(ws.CloseNormal, "")
//	for msg := range conn.Messages() {
//		fmt.Printf("%s\n", msg.Data)
//	}
//	if err := conn.Err(); err != nil { ... } // nil after a clean close
//
// Every blocking call takes a context.Context. Cancelling it abandons that
// call and never the connection: a cancelled Send queues nothing, and a
// frame that was queued is always written whole.
//
// Backpressure: Messages() is buffered to Options.MaxQueue messages; when
// the application stops reading, the reader stops reading the socket and
// TCP pushes back on the peer. Send blocks while more than
// Options.WriteLimit bytes wait to be written.
package runtime
