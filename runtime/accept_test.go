package runtime

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/tetherws/tether/ws"
)

func bodyOf(se *ws.StatusError) []byte {
	if se == nil {
		return nil
	}
	return se.Body
}

func TestSetUsernameOutsideAHookDoesNothing(t *testing.T) {
	SetUsername(context.Background(), "nobody") // must not panic
	var slot string
	SetUsername(withUsernameSlot(context.Background(), &slot), "x")
	if slot != "x" {
		t.Fatal("slot not set")
	}
}

func TestChainProcessRequestStopsAtTheFirstAnswer(t *testing.T) {
	var calls []string
	hook := func(name string, resp *Response, err error) ProcessRequestFunc {
		return func(context.Context, *http.Request) (*Response, error) {
			calls = append(calls, name)
			return resp, err
		}
	}
	r, _ := http.NewRequest("GET", "/", nil)
	resp, err := ChainProcessRequest(hook("a", nil, nil), nil, hook("b", &Response{Status: 418}, nil), hook("c", nil, nil))(context.Background(), r)
	if err != nil || resp.Status != 418 || len(calls) != 2 {
		t.Fatalf("resp %v, err %v, calls %v", resp, err, calls)
	}
	boom := errors.New("boom")
	calls = nil
	if _, err := ChainProcessRequest(hook("a", nil, boom), hook("b", nil, nil))(context.Background(), r); err != boom || len(calls) != 1 {
		t.Fatalf("err %v, calls %v", err, calls)
	}
}
