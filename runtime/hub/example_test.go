package hub_test

import (
	"context"
	"fmt"
	"net"

	"github.com/tetherws/tether/runtime"
	"github.com/tetherws/tether/runtime/hub"
	"github.com/tetherws/tether/ws"
)

// Two Hubs sharing a MemoryBroker behave like two server instances
// sharing a NATS server: a message published on one reaches the
// subscribers of both, once. With natsbroker.Connect in place of
// NewMemoryBroker, the instances can be separate processes.
func ExampleHub() {
	broker := hub.NewMemoryBroker()
	defer broker.Close()

	// Each instance runs its own tether server with its own Hub; every
	// client joins the room named in the URL path.
	serve := func(h *hub.Hub) (url string, stop func()) {
		srv := &runtime.Server{Handler: func(ctx context.Context, c *runtime.Conn) error {
			if err := h.Subscribe(c, c.Request().URL.Path[1:]); err != nil {
				return err
			}
			if err := c.SendText(ctx, "joined"); err != nil {
				return err
			}
			for m := range c.Messages() { // until the client leaves
				m.Release()
			}
			return nil
		}}
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		go srv.Serve(ln)
		return "ws://" + ln.Addr().String(), func() { srv.Shutdown(context.Background()) }
	}
	hubA := hub.New(hub.Options{Broker: broker})
	defer hubA.Close()
	hubB := hub.New(hub.Options{Broker: broker})
	defer hubB.Close()
	urlA, stopA := serve(hubA)
	defer stopA()
	urlB, stopB := serve(hubB)
	defer stopB()

	ctx := context.Background()
	join := func(url string) *runtime.Conn {
		c, _, err := runtime.Dial(ctx, url+"/lobby", nil)
		if err != nil {
			panic(err)
		}
		<-c.Messages() // "joined": the subscription is in place
		return c
	}
	alice, bob := join(urlA), join(urlB)
	defer alice.Close(ws.CloseNormal, "")
	defer bob.Close(ws.CloseNormal, "")

	// Published on instance A, delivered on A and on B.
	if err := hubA.Publish(ctx, "lobby", ws.OpText, []byte("hello, lobby")); err != nil {
		panic(err)
	}
	fmt.Println("alice got:", (<-alice.Messages()).Text())
	fmt.Println("bob got:", (<-bob.Messages()).Text())
	fmt.Println("lobby subscribers on A and B:", hubA.Subscribers("lobby"), hubB.Subscribers("lobby"))
	// Output:
	// alice got: hello, lobby
	// bob got: hello, lobby
	// lobby subscribers on A and B: 1 1
}
