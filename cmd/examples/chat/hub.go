package main

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
)

// ErrTooSlow is the cause of a client's context when the hub dropped it
// because its queue was full.
var ErrTooSlow = errors.New("too slow: message queue full")

// errLeft is the cause of a client's context after Leave.
var errLeft = errors.New("left the chat")

// ErrHubClosed is returned by Join and Say once the hub has stopped, and
// is the cause of every client's context at that moment.
var ErrHubClosed = errors.New("chat hub closed")

// Event is what the hub sends to every client, as one JSON text message.
type Event struct {
	Type   string   `json:"type"`             // "join", "leave" or "message"
	Name   string   `json:"name"`             // who joined, left or spoke
	Text   string   `json:"text,omitempty"`   // the message ("message")
	Reason string   `json:"reason,omitempty"` // why a client left ("leave")
	Users  []string `json:"users"`            // nicknames in the chat after the event
}

// Client is one member of the chat. Its queue holds encoded events for its
// connection to send; its context ends when it leaves or is dropped.
type Client struct {
	name   string
	queue  chan []byte
	ctx    context.Context
	cancel context.CancelCauseFunc
}

// Name returns the client's nickname.
func (c *Client) Name() string { return c.name }

// Queue returns the client's queue of encoded events. The hub never
// closes it: stop reading when Context is done.
func (c *Client) Queue() <-chan []byte { return c.queue }

// Context is cancelled when the client leaves, is dropped (cause
// ErrTooSlow), the hub stops (cause ErrHubClosed) or the context given to
// Join ends.
func (c *Client) Context() context.Context { return c.ctx }

type said struct {
	from *Client
	text string
}

// Hub fans chat events out to every client. One goroutine (Run) owns the
// set of clients; Join, Leave and Say are requests to it.
//
// Slow-client rule: each client has a queue of QueueSize events. When an
// event finds a client's queue full, the hub does not wait: it drops that
// client (its context is cancelled with ErrTooSlow, and the connection is
// then closed with 1008 policy violation) and tells the others it left.
// One slow tab therefore never stalls the others, and nobody silently
// misses messages: a client either gets every event or is disconnected.
type Hub struct {
	queueSize int
	joins     chan *Client
	leaves    chan *Client
	says      chan said
	done      chan struct{}
}

// NewHub returns a hub whose clients queue up to queueSize events.
func NewHub(queueSize int) *Hub {
	return &Hub{
		queueSize: max(queueSize, 1),
		joins:     make(chan *Client),
		leaves:    make(chan *Client),
		says:      make(chan said),
		done:      make(chan struct{}),
	}
}

// Run serves the hub until ctx ends, then cancels every client's context
// with ErrHubClosed and returns.
func (h *Hub) Run(ctx context.Context) {
	clients := make(map[*Client]struct{})
	defer func() {
		close(h.done)
		for c := range clients {
			c.cancel(ErrHubClosed)
		}
	}()
	for {
		select {
		case c := <-h.joins:
			clients[c] = struct{}{}
			h.broadcast(clients, Event{Type: "join", Name: c.name})
		case c := <-h.leaves:
			if _, ok := clients[c]; ok {
				delete(clients, c)
				c.cancel(errLeft)
				h.broadcast(clients, Event{Type: "leave", Name: c.name})
			}
		case s := <-h.says:
			if _, ok := clients[s.from]; ok {
				h.broadcast(clients, Event{Type: "message", Name: s.from.name, Text: s.text})
			}
		case <-ctx.Done():
			return
		}
	}
}

// broadcast encodes ev once and queues it for every client. Clients whose
// queue is full are dropped, and their leaving is broadcast in turn.
func (h *Hub) broadcast(clients map[*Client]struct{}, ev Event) {
	pending := []Event{ev}
	for len(pending) > 0 {
		ev, pending = pending[0], pending[1:]
		ev.Users = names(clients)
		b, err := json.Marshal(ev)
		if err != nil {
			panic(err) // Event always encodes
		}
		for c := range clients {
			select {
			case c.queue <- b:
			default:
				delete(clients, c)
				c.cancel(ErrTooSlow)
				pending = append(pending, Event{Type: "leave", Name: c.name, Reason: ErrTooSlow.Error()})
			}
		}
	}
}

func names(clients map[*Client]struct{}) []string {
	out := make([]string, 0, len(clients))
	for c := range clients {
		out = append(out, c.name)
	}
	slices.Sort(out)
	return out
}

// Join adds a client named name. Its context derives from ctx.
func (h *Hub) Join(ctx context.Context, name string) (*Client, error) {
	cctx, cancel := context.WithCancelCause(ctx)
	c := &Client{name: name, queue: make(chan []byte, h.queueSize), ctx: cctx, cancel: cancel}
	select {
	case h.joins <- c:
		return c, nil
	case <-ctx.Done():
		cancel(context.Cause(ctx))
		return nil, context.Cause(ctx)
	case <-h.done:
		cancel(ErrHubClosed)
		return nil, ErrHubClosed
	}
}

// Leave removes c from the chat and cancels its context. It does nothing
// for a client already gone, and never blocks once the hub has stopped.
func (h *Hub) Leave(c *Client) {
	select {
	case h.leaves <- c:
	case <-h.done:
	}
}

// Say sends text from c to everyone, c included. It fails once c's context
// has ended (c left or was dropped) or the hub has stopped.
func (h *Hub) Say(c *Client, text string) error {
	if c.ctx.Err() != nil {
		return context.Cause(c.ctx)
	}
	select {
	case h.says <- said{from: c, text: text}:
		return nil
	case <-c.ctx.Done():
		return context.Cause(c.ctx)
	case <-h.done:
		return ErrHubClosed
	}
}
