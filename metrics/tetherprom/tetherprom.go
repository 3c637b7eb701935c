package tetherprom

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tetherws/tether"
	"github.com/tetherws/tether/ws"
)

// Options configure New. The zero value gives the defaults.
type Options struct {
	// Namespace prefixes every metric name; default "tether".
	Namespace string
	// ConstLabels are added to every metric (e.g. the server's name).
	ConstLabels prometheus.Labels
	// DurationBuckets are the buckets of connection_duration_seconds;
	// default 1 s to about 4.5 h, by factors of 3.
	DurationBuckets []float64
	// RTTBuckets are the buckets of ping_rtt_seconds; default 1 ms to
	// about 4 s, by factors of 2.
	RTTBuckets []float64
	// QueueBuckets are the buckets of send_queue_bytes; default 0, then
	// 1 KiB to 1 MiB by factors of 4.
	QueueBuckets []float64
}

// Metrics are tether's metrics for Prometheus: a prometheus.Collector,
// and the Observer that feeds them. Their hooks are safe for any number
// of connections at once.
type Metrics struct {
	closed, rejected, skipped *prometheus.CounterVec
	rtt, sendQueue, backlog   prometheus.Observer

	// The counters of every message, looked up once.
	msgIn, msgOut     [2]prometheus.Counter // text, binary
	bytesIn, bytesOut prometheus.Counter
	wireIn, wireOut   prometheus.Counter
	openBySide        [2]prometheus.Gauge // client, server
	openedBySide      [2]prometheus.Counter
	durationBySide    [2]prometheus.Observer

	collectors []prometheus.Collector
}

// New makes tether's metrics. Register them with a prometheus.Registerer
// and set Observer() in the options of the connections to count.
func New(o Options) *Metrics {
	ns := o.Namespace
	if ns == "" {
		ns = "tether"
	}
	buckets := func(b, def []float64) []float64 {
		if len(b) > 0 {
			return b
		}
		return def
	}
	m := &Metrics{}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		v := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: name, Help: help, ConstLabels: o.ConstLabels}, labels)
		m.collectors = append(m.collectors, v)
		return v
	}
	histogram := func(name, help string, b []float64, labels ...string) *prometheus.HistogramVec {
		v := prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Name: name, Help: help, ConstLabels: o.ConstLabels, Buckets: b}, labels)
		m.collectors = append(m.collectors, v)
		return v
	}
	opened := counter("connections_opened_total", "WebSocket connections opened.", "side")
	open := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "connections_open", Help: "WebSocket connections open now.", ConstLabels: o.ConstLabels}, []string{"side"})
	m.collectors = append(m.collectors, open)
	m.closed = counter("connections_closed_total", "WebSocket connections ended, by the end that started the closing handshake and the close codes sent and received.",
		"side", "initiator", "code_sent", "code_received")
	duration := histogram("connection_duration_seconds", "How long WebSocket connections stayed open.",
		buckets(o.DurationBuckets, prometheus.ExponentialBuckets(1, 3, 10)), "side")
	m.rejected = counter("handshakes_rejected_total", "Opening handshakes answered with an HTTP status instead of a connection.", "side", "status")
	messages := counter("messages_total", "WebSocket messages received and sent.", "direction", "type")
	messageBytes := counter("message_bytes_total", "Payload bytes of the messages received and sent, uncompressed.", "direction")
	wireBytes := counter("wire_bytes_total", "Bytes read from and written to the connections' transport (frames, compressed).", "direction")
	m.skipped = counter("broadcast_skipped_total", "Connections a broadcast skipped, by reason.", "reason")
	m.rtt = histogram("ping_rtt_seconds", "Round-trip time of answered pings (keepalive and Ping).",
		buckets(o.RTTBuckets, prometheus.ExponentialBuckets(0.001, 2, 13))).WithLabelValues()
	m.sendQueue = histogram("send_queue_bytes", "Bytes queued behind each message sent (0: the socket took it at once).",
		buckets(o.QueueBuckets, append([]float64{0}, prometheus.ExponentialBuckets(1024, 4, 6)...))).WithLabelValues()
	m.backlog = histogram("receive_backlog_messages", "Messages waiting in Messages ahead of each one received.",
		prometheus.LinearBuckets(0, 4, 9)).WithLabelValues()

	for i, typ := range []string{"text", "binary"} {
		m.msgIn[i] = messages.WithLabelValues("received", typ)
		m.msgOut[i] = messages.WithLabelValues("sent", typ)
	}
	m.bytesIn, m.bytesOut = messageBytes.WithLabelValues("received"), messageBytes.WithLabelValues("sent")
	m.wireIn, m.wireOut = wireBytes.WithLabelValues("received"), wireBytes.WithLabelValues("sent")
	for i, side := range []ws.Side{ws.Client, ws.Server} {
		m.openBySide[i] = open.WithLabelValues(side.String())
		m.openedBySide[i] = opened.WithLabelValues(side.String())
		m.durationBySide[i] = duration.WithLabelValues(side.String())
	}
	return m
}

// Describe sends the descriptors of every metric (prometheus.Collector).
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range m.collectors {
		c.Describe(ch)
	}
}

// Collect sends every metric (prometheus.Collector).
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	for _, c := range m.collectors {
		c.Collect(ch)
	}
}

// Observer returns the observer that feeds the metrics: set it in
// tether's Options.Observer. Every message costs a few atomic additions
// and no allocation.
func (m *Metrics) Observer() *tether.Observer {
	return &tether.Observer{
		Opened: func(c *tether.Conn) {
			s := sideIndex(c)
			m.openedBySide[s].Inc()
			m.openBySide[s].Inc()
		},
		Closed: func(c *tether.Conn, e tether.CloseEvent) {
			s := sideIndex(c)
			m.openBySide[s].Dec()
			m.durationBySide[s].Observe(e.Duration.Seconds())
			sent, rcvd := e.CodeLabels()
			m.closed.WithLabelValues(e.Side.String(), e.Initiator.String(), sent, rcvd).Inc()
		},
		Rejected: func(e tether.RejectEvent) {
			m.rejected.WithLabelValues(e.Side.String(), strconv.Itoa(e.Status)).Inc()
		},
		Received: func(_ *tether.Conn, e tether.MessageEvent) {
			if e.Fin {
				m.msgIn[typeIndex(e.Type)].Inc()
			}
			m.bytesIn.Add(float64(e.Size))
			m.backlog.Observe(float64(e.Queued))
		},
		Sent: func(_ *tether.Conn, e tether.MessageEvent) {
			if e.Fin {
				m.msgOut[typeIndex(e.Type)].Inc()
			}
			m.bytesOut.Add(float64(e.Size))
			m.sendQueue.Observe(float64(e.Queued))
		},
		Read:    func(_ *tether.Conn, n int) { m.wireIn.Add(float64(n)) },
		Written: func(_ *tether.Conn, n int) { m.wireOut.Add(float64(n)) },
		Latency: func(_ *tether.Conn, rtt time.Duration) { m.rtt.Observe(rtt.Seconds()) },
		Skipped: func(_ *tether.Conn, reason error) {
			m.skipped.WithLabelValues(tether.SkipReason(reason)).Inc()
		},
	}
}

// sideIndex is 0 for a client connection, 1 for a server's.
func sideIndex(c *tether.Conn) int {
	if c.Side() == ws.Server {
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
