package tetherprom

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tetherws/tether"
)

// scrape returns what a Prometheus scrape of reg reads.
func scrape(t *testing.T, reg *prometheus.Registry) string {
	t.Helper()
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("scrape: %d %s", rec.Code, rec.Body)
	}
	return rec.Body.String()
}

// value returns the value of the sample series (name and labels as the
// exposition writes them) in text, or -1 when it is absent.
func value(text, series string) float64 {
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`)
	m := re.FindStringSubmatch(text)
	if m == nil {
		return -1
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return -1
	}
	return v
}

func TestMetricsCountAConnectionsLife(t *testing.T) {
	m := New(Options{})
	reg := prometheus.NewRegistry()
	reg.MustRegister(m)
	opts := tether.Options{Observer: m.Observer(), PingInterval: -1}
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
	if v := value(scrape(t, reg), `tether_connections_open{side="client"}`); v != 1 {
		t.Errorf("open client connections = %v", v)
	}
	for _, msg := range []string{"one", "two"} {
		if err := c.SendText(ctx, msg); err != nil {
			t.Fatal(err)
		}
		<-c.Messages()
	}
	if err := c.SendBinary(ctx, make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	<-c.Messages()
	if _, err := c.Ping(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(tether.CloseNormal, ""); err != nil {
		t.Fatal(err)
	}
	<-(<-conns).Done() // the server's connection has ended: its Closed hook ran

	text := scrape(t, reg)
	for series, want := range map[string]float64{
		`tether_connections_opened_total{side="client"}`:                                                         1,
		`tether_connections_opened_total{side="server"}`:                                                         1,
		`tether_connections_open{side="client"}`:                                                                 0,
		`tether_connections_open{side="server"}`:                                                                 0,
		`tether_connections_closed_total{code_received="1000",code_sent="1000",initiator="local",side="client"}`: 1,
		`tether_connections_closed_total{code_received="1000",code_sent="1000",initiator="peer",side="server"}`:  1,
		`tether_connection_duration_seconds_count{side="server"}`:                                                1,
		`tether_handshakes_rejected_total{side="client",status="403"}`:                                           1,
		`tether_handshakes_rejected_total{side="server",status="403"}`:                                           1,
		// Both ends count in these metrics: each message is sent once and
		// received once.
		`tether_messages_total{direction="received",type="text"}`:   4,
		`tether_messages_total{direction="sent",type="text"}`:       4,
		`tether_messages_total{direction="received",type="binary"}`: 2,
		`tether_messages_total{direction="sent",type="binary"}`:     2,
		`tether_message_bytes_total{direction="received"}`:          2 * (3 + 3 + 1000),
		`tether_message_bytes_total{direction="sent"}`:              2 * (3 + 3 + 1000),
		`tether_ping_rtt_seconds_count`:                             1,
		`tether_send_queue_bytes_count`:                             6,
		`tether_receive_backlog_messages_count`:                     6,
	} {
		if got := value(text, series); got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
	// Compression: 1000 zero bytes take far fewer on the wire.
	for _, dir := range []string{"received", "sent"} {
		wire := value(text, fmt.Sprintf(`tether_wire_bytes_total{direction=%q}`, dir))
		if wire <= 0 || wire >= 2*(3+3+1000) {
			t.Errorf("wire bytes %s = %v", dir, wire)
		}
	}
	if t.Failed() {
		t.Log(text)
	}
}

func TestMetricsCountBroadcastSkips(t *testing.T) {
	m := New(Options{Namespace: "chat", ConstLabels: prometheus.Labels{"room": "lobby"}})
	reg := prometheus.NewRegistry()
	reg.MustRegister(m)
	obs := m.Observer()
	obs.Skipped(nil, tether.ErrSlowConnection)
	obs.Skipped(nil, &tether.SkipError{Err: tether.ErrNotOpen})
	obs.Skipped(nil, tether.ErrFragmentedSend)
	obs.Skipped(nil, errors.New("broken pipe"))
	text := scrape(t, reg)
	for _, reason := range []string{"slow", "not_open", "fragmented", "error"} {
		series := fmt.Sprintf(`chat_broadcast_skipped_total{reason=%q,room="lobby"}`, reason)
		if got := value(text, series); got != 1 {
			t.Errorf("%s = %v, want 1\n%s", series, got, text)
		}
	}
	if !strings.Contains(text, "# HELP chat_connections_open ") {
		t.Error("the namespace is not applied to every metric")
	}
}
