package tetherotel

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/tetherws/tether"
	"github.com/tetherws/tether/ws"
)

// ScopeName is the name of the Meter New asks the MeterProvider for.
const ScopeName = "github.com/tetherws/tether"

// instruments are the instruments New makes, and the attribute sets of
// every message's measurements, made once.
type instruments struct {
	opened, closed, rejected, messages, messageBytes, wireBytes, skipped metric.Int64Counter
	open                                                                 metric.Int64UpDownCounter
	duration, rtt                                                        metric.Float64Histogram
	sendQueue, backlog                                                   metric.Int64Histogram

	side          [2][]metric.AddOption // client, server
	sideRecord    [2][]metric.RecordOption
	msgIn, msgOut [2][]metric.AddOption // text, binary
	dirIn, dirOut []metric.AddOption
	skipReasons   map[string][]metric.AddOption
}

// New returns an Observer that records tether's metrics with a Meter of
// mp named ScopeName. Every message costs a few measurements with
// attribute sets made in advance.
func New(mp metric.MeterProvider) (*tether.Observer, error) {
	m := mp.Meter(ScopeName)
	in := &instruments{}
	var errs []error
	counter := func(name, unit, desc string) metric.Int64Counter {
		c, err := m.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return c
	}
	in.opened = counter("tether.connections.opened", "{connection}", "WebSocket connections opened.")
	in.closed = counter("tether.connections.closed", "{connection}", "WebSocket connections ended, by the end that started the closing handshake and the close codes.")
	in.rejected = counter("tether.handshakes.rejected", "{handshake}", "Opening handshakes answered with an HTTP status instead of a connection.")
	in.messages = counter("tether.messages", "{message}", "WebSocket messages received and sent.")
	in.messageBytes = counter("tether.message.bytes", "By", "Payload bytes of the messages received and sent, uncompressed.")
	in.wireBytes = counter("tether.wire.bytes", "By", "Bytes read from and written to the connections' transport.")
	in.skipped = counter("tether.broadcast.skipped", "{connection}", "Connections a broadcast skipped, by reason.")
	var err error
	in.open, err = m.Int64UpDownCounter("tether.connections.open", metric.WithUnit("{connection}"), metric.WithDescription("WebSocket connections open now."))
	errs = append(errs, err)
	in.duration, err = m.Float64Histogram("tether.connection.duration", metric.WithUnit("s"), metric.WithDescription("How long WebSocket connections stayed open."))
	errs = append(errs, err)
	in.rtt, err = m.Float64Histogram("tether.ping.rtt", metric.WithUnit("s"), metric.WithDescription("Round-trip time of answered pings (keepalive and Ping)."))
	errs = append(errs, err)
	in.sendQueue, err = m.Int64Histogram("tether.send.queue", metric.WithUnit("By"), metric.WithDescription("Bytes queued behind each message sent."))
	errs = append(errs, err)
	in.backlog, err = m.Int64Histogram("tether.receive.backlog", metric.WithUnit("{message}"), metric.WithDescription("Messages waiting ahead of each one received."))
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("tetherotel: %w", err)
	}

	add := func(kv ...attribute.KeyValue) []metric.AddOption {
		return []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(kv...))}
	}
	for i, side := range []ws.Side{ws.Client, ws.Server} {
		in.side[i] = add(attribute.String("side", side.String()))
		in.sideRecord[i] = []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(attribute.String("side", side.String())))}
	}
	for i, typ := range []string{"text", "binary"} {
		in.msgIn[i] = add(attribute.String("direction", "received"), attribute.String("type", typ))
		in.msgOut[i] = add(attribute.String("direction", "sent"), attribute.String("type", typ))
	}
	in.dirIn, in.dirOut = add(attribute.String("direction", "received")), add(attribute.String("direction", "sent"))
	in.skipReasons = make(map[string][]metric.AddOption)
	for _, r := range []string{"not_open", "fragmented", "slow", "error"} {
		in.skipReasons[r] = add(attribute.String("reason", r))
	}
	return in.observer(), nil
}

func (in *instruments) observer() *tether.Observer {
	ctx := context.Background()
	return &tether.Observer{
		Opened: func(c *tether.Conn) {
			s := sideIndex(c.Side())
			in.opened.Add(ctx, 1, in.side[s]...)
			in.open.Add(ctx, 1, in.side[s]...)
		},
		Closed: func(c *tether.Conn, e tether.CloseEvent) {
			s := sideIndex(e.Side)
			in.open.Add(ctx, -1, in.side[s]...)
			in.duration.Record(ctx, e.Duration.Seconds(), in.sideRecord[s]...)
			sent, rcvd := e.CodeLabels()
			in.closed.Add(ctx, 1, metric.WithAttributes(
				attribute.String("side", e.Side.String()), attribute.String("initiator", e.Initiator.String()),
				attribute.String("close.code.sent", sent), attribute.String("close.code.received", rcvd)))
		},
		Rejected: func(e tether.RejectEvent) {
			in.rejected.Add(ctx, 1, metric.WithAttributes(
				attribute.String("side", e.Side.String()), attribute.Int("http.response.status_code", e.Status)))
		},
		Received: func(_ *tether.Conn, e tether.MessageEvent) {
			if e.Fin {
				in.messages.Add(ctx, 1, in.msgIn[typeIndex(e.Type)]...)
			}
			in.messageBytes.Add(ctx, int64(e.Size), in.dirIn...)
			in.backlog.Record(ctx, int64(e.Queued))
		},
		Sent: func(_ *tether.Conn, e tether.MessageEvent) {
			if e.Fin {
				in.messages.Add(ctx, 1, in.msgOut[typeIndex(e.Type)]...)
			}
			in.messageBytes.Add(ctx, int64(e.Size), in.dirOut...)
			in.sendQueue.Record(ctx, int64(e.Queued))
		},
		Read:    func(_ *tether.Conn, n int) { in.wireBytes.Add(ctx, int64(n), in.dirIn...) },
		Written: func(_ *tether.Conn, n int) { in.wireBytes.Add(ctx, int64(n), in.dirOut...) },
		Latency: func(_ *tether.Conn, rtt time.Duration) { in.rtt.Record(ctx, rtt.Seconds()) },
		Skipped: func(_ *tether.Conn, reason error) {
			in.skipped.Add(ctx, 1, in.skipReasons[tether.SkipReason(reason)]...)
		},
	}
}

// sideIndex is 0 for the client side, 1 for the server's.
func sideIndex(s ws.Side) int {
	if s == ws.Server {
		return 1
	}
	return 0
}

// typeIndex is 0 for text, 1 for binary.
func typeIndex(t tether.Opcode) int {
	if t == tether.OpText {
		return 0
	}
	return 1
}
