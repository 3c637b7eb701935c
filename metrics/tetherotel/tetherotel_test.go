package tetherotel

import (
	"context"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/tetherws/tether"
)

// collected holds one collection of a ManualReader.
type collected struct {
	t  *testing.T
	rm metricdata.ResourceMetrics
}

func collect(t *testing.T, r *sdkmetric.ManualReader) collected {
	t.Helper()
	c := collected{t: t}
	if err := r.Collect(context.Background(), &c.rm); err != nil {
		t.Fatal(err)
	}
	return c
}

func (c collected) find(name string) metricdata.Aggregation {
	for _, sm := range c.rm.ScopeMetrics {
		if sm.Scope.Name != ScopeName {
			continue
		}
		for _, m := range sm.Metrics {
			if m.Name == name {
				return m.Data
			}
		}
	}
	return nil
}

// matches reports whether set has every attribute of want.
func matches(set attribute.Set, want []attribute.KeyValue) bool {
	for _, kv := range want {
		if v, ok := set.Value(kv.Key); !ok || v != kv.Value {
			return false
		}
	}
	return true
}

// sum returns the sum of the points of an int64 sum with the attributes
// attrs (-1 when the instrument recorded nothing).
func (c collected) sum(name string, attrs ...attribute.KeyValue) int64 {
	s, ok := c.find(name).(metricdata.Sum[int64])
	if !ok {
		return -1
	}
	var total int64
	for _, p := range s.DataPoints {
		if matches(p.Attributes, attrs) {
			total += p.Value
		}
	}
	return total
}

// count returns the number of measurements of a histogram with attrs.
func (c collected) count(name string, attrs ...attribute.KeyValue) uint64 {
	var total uint64
	switch h := c.find(name).(type) {
	case metricdata.Histogram[float64]:
		for _, p := range h.DataPoints {
			if matches(p.Attributes, attrs) {
				total += p.Count
			}
		}
	case metricdata.Histogram[int64]:
		for _, p := range h.DataPoints {
			if matches(p.Attributes, attrs) {
				total += p.Count
			}
		}
	}
	return total
}

func TestInstrumentsRecordAConnectionsLife(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer func() { _ = mp.Shutdown(context.Background()) }()
	obs, err := New(mp)
	if err != nil {
		t.Fatal(err)
	}
	opts := tether.Options{Observer: obs, PingInterval: -1}
	conns := make(chan *tether.Conn, 1)
	srv := &tether.Server{
		Handler: func(ctx context.Context, c *tether.Conn) error {
			conns <- c
			for msg := range c.Messages() {
				if err := c.SendMessage(ctx, msg); err != nil {
					return err
				}
			}
			return nil
		},
		Options: tether.ServerOptions{Options: opts, ProcessRequest: func(_ context.Context, r *http.Request) (*tether.Response, error) {
			if r.URL.Path == "/deny" {
				return &tether.Response{Status: http.StatusForbidden}, nil
			}
			return nil, nil
		}},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer func() {
		_ = srv.Shutdown(context.Background())
		<-served
	}()
	url := "ws://" + ln.Addr().String() + "/"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	if _, _, err := tether.Dial(ctx, url+"deny", &tether.DialOptions{Options: opts}); err == nil {
		t.Fatal("Dial /deny succeeded")
	}
	c, _, err := tether.Dial(ctx, url, &tether.DialOptions{Options: opts})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	sc := <-conns
	if got := collect(t, reader).sum("tether.connections.open", attribute.String("side", "server")); got != 1 {
		t.Errorf("open server connections = %d", got)
	}
	if err := c.SendText(ctx, "hello"); err != nil {
		t.Fatal(err)
	}
	<-c.Messages()
	if err := c.SendBinary(ctx, make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	<-c.Messages()
	if _, err := c.Ping(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(tether.CloseGoingAway, ""); err != nil {
		t.Fatal(err)
	}
	<-sc.Done() // its Closed hook ran

	got := collect(t, reader)
	side := func(s string) attribute.KeyValue { return attribute.String("side", s) }
	dir := func(s string) attribute.KeyValue { return attribute.String("direction", s) }
	for _, tt := range []struct {
		name  string
		attrs []attribute.KeyValue
		want  int64
	}{
		{"tether.connections.opened", []attribute.KeyValue{side("client")}, 1},
		{"tether.connections.opened", []attribute.KeyValue{side("server")}, 1},
		{"tether.connections.open", nil, 0},
		{"tether.connections.closed", []attribute.KeyValue{side("server"), attribute.String("initiator", "peer"),
			attribute.String("close.code.received", "1001"), attribute.String("close.code.sent", "1001")}, 1},
		{"tether.connections.closed", []attribute.KeyValue{side("client"), attribute.String("initiator", "local")}, 1},
		{"tether.handshakes.rejected", []attribute.KeyValue{side("server"), attribute.Int("http.response.status_code", 403)}, 1},
		{"tether.handshakes.rejected", []attribute.KeyValue{side("client"), attribute.Int("http.response.status_code", 403)}, 1},
		{"tether.messages", []attribute.KeyValue{dir("received"), attribute.String("type", "text")}, 2},
		{"tether.messages", []attribute.KeyValue{dir("sent"), attribute.String("type", "binary")}, 2},
		{"tether.message.bytes", []attribute.KeyValue{dir("received")}, 2 * (5 + 1000)},
		{"tether.message.bytes", []attribute.KeyValue{dir("sent")}, 2 * (5 + 1000)},
	} {
		if v := got.sum(tt.name, tt.attrs...); v != tt.want {
			t.Errorf("%s%v = %d, want %d", tt.name, tt.attrs, v, tt.want)
		}
	}
	if wire := got.sum("tether.wire.bytes", dir("sent")); wire <= 0 || wire >= 2*(5+1000) {
		t.Errorf("wire bytes sent = %d: not compressed?", wire)
	}
	for name, want := range map[string]uint64{
		"tether.ping.rtt": 1, "tether.send.queue": 4, "tether.receive.backlog": 4,
	} {
		if n := got.count(name); n != want {
			t.Errorf("%s has %d measurements, want %d", name, n, want)
		}
	}
	if n := got.count("tether.connection.duration", side("client")); n != 1 {
		t.Errorf("client durations: %d", n)
	}
}

func TestSkipsAreRecordedByReason(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer func() { _ = mp.Shutdown(context.Background()) }()
	obs, err := New(mp)
	if err != nil {
		t.Fatal(err)
	}
	obs.Skipped(nil, tether.ErrSlowConnection)
	obs.Skipped(nil, tether.ErrSlowConnection)
	obs.Skipped(nil, &tether.SkipError{Err: tether.ErrFragmentedSend})
	obs.Skipped(nil, errors.New("broken pipe"))
	got := collect(t, reader)
	for reason, want := range map[string]int64{"slow": 2, "fragmented": 1, "error": 1} {
		if v := got.sum("tether.broadcast.skipped", attribute.String("reason", reason)); v != want {
			t.Errorf("%s skips = %d, want %d", reason, v, want)
		}
	}
}
