package tether_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/tetherws/tether"
)

// Order is a message of the JSON examples.
type Order struct {
	Item string `json:"item"`
	Qty  int    `json:"qty"`
}

// SendJSON and ReceiveJSON send and receive a JSON message in one call
// each, with encoding/json; the type parameter says what to decode into.
func ExampleReceiveJSON() {
	url, stop := listen(&tether.Server{Handler: func(ctx context.Context, c *tether.Conn) error {
		o, err := tether.ReceiveJSON[Order](ctx, c)
		if err != nil {
			return err
		}
		o.Qty *= 2
		return tether.SendJSON(ctx, c, o)
	}})
	defer stop()

	ctx := context.Background()
	conn, _, err := tether.Dial(ctx, url, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.CloseNow()
	if err := tether.SendJSON(ctx, conn, Order{"tea", 2}); err != nil {
		fmt.Println(err)
		return
	}
	o, err := tether.ReceiveJSON[Order](ctx, conn)
	fmt.Printf("%+v %v\n", o, err)
	// Output:
	// {Item:tea Qty:4} <nil>
}

// JSON[T] ranges over the messages decoded: a message that is not JSON
// for T is a *DecodeError the loop can skip, and the loop ends with the
// connection.
func ExampleJSON_All() {
	url, stop := listen(&tether.Server{Handler: func(ctx context.Context, c *tether.Conn) error {
		c.SendText(ctx, `{"item":"tea","qty":1}`)
		c.SendText(ctx, `not json`)
		c.SendText(ctx, `{"item":"cake","qty":3}`)
		return nil // closes with 1000
	}})
	defer stop()

	conn, _, err := tether.Dial(context.Background(), url, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	orders := tether.JSON[Order]{Conn: conn}
	for o, err := range orders.All() {
		var de *tether.DecodeError
		if errors.As(err, &de) {
			fmt.Printf("skipped %q\n", de.Data)
			continue
		}
		fmt.Println(o.Qty, o.Item)
	}
	fmt.Println("err:", conn.Err())
	// Output:
	// 1 tea
	// skipped "not json"
	// 3 cake
	// err: <nil>
}
