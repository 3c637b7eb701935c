package natsbroker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/nats-io/nats.go"

	"github.com/tetherws/tether/runtime/hub"
)

// DefaultPrefix is the subject prefix of topics when Options.Prefix is
// empty.
const DefaultPrefix = "tether.hub."

// DefaultSubscribeTimeout is how long Subscribe waits for the NATS server
// to confirm a subscription by default.
const DefaultSubscribeTimeout = 5 * time.Second

// MaxTopicLen bounds a topic, in bytes. A NATS server closes a client
// connection whose protocol line passes 4096 bytes (max_control_line), so
// one overlong topic must not reach it.
const MaxTopicLen = 1024

// ErrInvalidTopic matches the errors for topics that are not NATS subject
// tokens; it matches hub.ErrInvalidTopic too.
var ErrInvalidTopic = fmt.Errorf("natsbroker: %w", hub.ErrInvalidTopic)

// Options configure a Broker. The zero value (or nil) gives the defaults.
type Options struct {
	// Prefix is prepended to each topic to make its subject. It is empty
	// (DefaultPrefix) or NATS subject tokens ending with ".".
	Prefix string
	// SubscribeTimeout bounds how long Subscribe waits for the server to
	// confirm a subscription. Default DefaultSubscribeTimeout.
	SubscribeTimeout time.Duration
	// Logger receives connection events from Connect's connection
	// (disconnected, reconnected, errors such as a slow consumer).
	// Default: discard.
	Logger *slog.Logger
}

// Broker is a hub.Broker on a NATS connection. Its methods are safe for
// concurrent use.
type Broker struct {
	nc      *nats.Conn
	own     bool // Close closes nc
	prefix  string
	timeout time.Duration
	log     *slog.Logger

	mu     sync.Mutex
	subs   map[*nats.Subscription]struct{}
	closed bool
}

var _ hub.Broker = (*Broker)(nil)

// Connect connects to the NATS server(s) at url (comma-separated URLs,
// as nats.Connect takes them) and returns a Broker that owns the
// connection. Before natsOpts (which override them), it sets: the client
// name "tether-hub", reconnection forever (nats.MaxReconnects(-1)) every
// 500 ms plus up to 500 ms of jitter (1 s with TLS), and handlers that log
// to Options.Logger. The first connection is not retried: Connect fails
// when no server is reachable, so that a wrong URL shows at start-up.
func Connect(url string, o *Options, natsOpts ...nats.Option) (*Broker, error) {
	cfg, err := config(o)
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	opts := []nats.Option{
		nats.Name("tether-hub"),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(500 * time.Millisecond),
		nats.ReconnectJitter(500*time.Millisecond, time.Second),
		nats.DisconnectErrHandler(func(nc *nats.Conn, err error) {
			if err != nil {
				log.Warn("natsbroker: disconnected from NATS", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("natsbroker: reconnected to NATS", "url", nc.ConnectedUrlRedacted())
		}),
		nats.ErrorHandler(func(nc *nats.Conn, sub *nats.Subscription, err error) {
			if sub != nil {
				log.Warn("natsbroker: NATS error", "subject", sub.Subject, "err", err)
			} else {
				log.Warn("natsbroker: NATS error", "err", err)
			}
		}),
	}
	nc, err := nats.Connect(url, append(opts, natsOpts...)...)
	if err != nil {
		return nil, fmt.Errorf("natsbroker: connect to %s: %w", redact(url), err)
	}
	b, err := newBroker(nc, cfg)
	if err != nil {
		nc.Close()
		return nil, err
	}
	b.own = true
	return b, nil
}

// New returns a Broker on nc, a connection the caller keeps: Close drops
// the Broker's subscriptions and leaves nc open. nc must not have been
// made with nats.NoEcho (a Hub needs its own messages back).
func New(nc *nats.Conn, o *Options) (*Broker, error) {
	cfg, err := config(o)
	if err != nil {
		return nil, err
	}
	return newBroker(nc, cfg)
}

func config(o *Options) (Options, error) {
	var cfg Options
	if o != nil {
		cfg = *o
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if !strings.HasSuffix(cfg.Prefix, ".") || validTokens(strings.TrimSuffix(cfg.Prefix, ".")) != nil {
		return cfg, fmt.Errorf("natsbroker: prefix %q is not NATS subject tokens ending with \".\"", cfg.Prefix)
	}
	if cfg.SubscribeTimeout <= 0 {
		cfg.SubscribeTimeout = DefaultSubscribeTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg, nil
}

func newBroker(nc *nats.Conn, cfg Options) (*Broker, error) {
	switch {
	case nc == nil:
		return nil, errors.New("natsbroker: nil NATS connection")
	case nc.IsClosed():
		return nil, fmt.Errorf("natsbroker: %w", nats.ErrConnectionClosed)
	case nc.Opts.NoEcho:
		return nil, errors.New("natsbroker: the NATS connection has NoEcho set: a Hub would miss its own messages")
	}
	return &Broker{
		nc:      nc,
		prefix:  cfg.Prefix,
		timeout: cfg.SubscribeTimeout,
		log:     cfg.Logger,
		subs:    make(map[*nats.Subscription]struct{}),
	}, nil
}

// Conn returns the NATS connection.
func (b *Broker) Conn() *nats.Conn { return b.nc }

// Subject returns the NATS subject of topic, or an error matching
// ErrInvalidTopic.
func (b *Broker) Subject(topic string) (string, error) {
	if err := ValidTopic(topic); err != nil {
		return "", err
	}
	return b.prefix + topic, nil
}

// Topic returns the topic of a NATS subject, and false for a subject that
// is not one of this Broker's topics.
func (b *Broker) Topic(subject string) (string, bool) {
	topic, ok := strings.CutPrefix(subject, b.prefix)
	if !ok || ValidTopic(topic) != nil {
		return "", false
	}
	return topic, true
}

// ValidTopic reports why topic cannot be a topic (an error matching
// ErrInvalidTopic), or nil: a topic is NATS subject tokens separated by
// ".", at most MaxTopicLen bytes, without wildcards.
func ValidTopic(topic string) error {
	if len(topic) > MaxTopicLen {
		return fmt.Errorf("%w: %d bytes, more than %d", ErrInvalidTopic, len(topic), MaxTopicLen)
	}
	if err := validTokens(topic); err != nil {
		return fmt.Errorf("%w %q: %s", ErrInvalidTopic, topic, err)
	}
	return nil
}

// validTokens checks s is tokens separated by ".": each non-empty, valid
// UTF-8, without white space, control characters or wildcards.
func validTokens(s string) error {
	if s == "" {
		return errors.New("empty")
	}
	if !utf8.ValidString(s) {
		return errors.New("not valid UTF-8")
	}
	for tok := range strings.SplitSeq(s, ".") {
		if tok == "" {
			return errors.New("empty token")
		}
		for _, r := range tok {
			switch {
			case r == '*' || r == '>':
				return fmt.Errorf("wildcard %q", r)
			case unicode.IsSpace(r) || unicode.IsControl(r):
				return fmt.Errorf("white space or control character %q", r)
			}
		}
	}
	return nil
}

// Publish publishes msg on topic's subject. nats.go copies msg into its
// write buffer (or, while reconnecting, its reconnect buffer) and sends it
// from its own goroutine: Publish does not wait for the network.
func (b *Broker) Publish(ctx context.Context, topic string, msg []byte) error {
	subj, err := b.Subject(topic)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if b.isClosed() {
		return fmt.Errorf("natsbroker: publish to %s: %w", subj, hub.ErrBrokerClosed)
	}
	if err := b.nc.Publish(subj, msg); err != nil {
		return fmt.Errorf("natsbroker: publish to %s: %w", subj, err)
	}
	return nil
}

// Subscribe subscribes to topic's subject; nats.go calls deliver from one
// goroutine per subscription, one message at a time. It waits (at most
// SubscribeTimeout) for the server to confirm, so that what is published
// after it returns is delivered. While the connection is down the
// subscription is kept, and nats.go sends it on reconnecting.
func (b *Broker) Subscribe(topic string, deliver func(msg []byte)) (func(), error) {
	subj, err := b.Subject(topic)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, fmt.Errorf("natsbroker: subscribe to %s: %w", subj, hub.ErrBrokerClosed)
	}
	sub, err := b.nc.Subscribe(subj, func(m *nats.Msg) { deliver(m.Data) })
	if err != nil {
		b.mu.Unlock()
		return nil, fmt.Errorf("natsbroker: subscribe to %s: %w", subj, err)
	}
	b.subs[sub] = struct{}{}
	b.mu.Unlock()

	unsubscribe := sync.OnceFunc(func() {
		b.mu.Lock()
		delete(b.subs, sub)
		b.mu.Unlock()
		if err := sub.Unsubscribe(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) && !errors.Is(err, nats.ErrBadSubscription) {
			b.log.Warn("natsbroker: unsubscribe", "subject", subj, "err", err)
		}
	})
	// A round trip: the server has the subscription when its PONG comes.
	if err := b.nc.FlushTimeout(b.timeout); err != nil {
		if b.nc.IsClosed() {
			unsubscribe()
			return nil, fmt.Errorf("natsbroker: subscribe to %s: %w", subj, err)
		}
		// Reconnecting, or a slow server: nats.go (re)sends the
		// subscription when it can.
		b.log.Warn("natsbroker: subscription not confirmed yet", "subject", subj, "err", err)
	}
	return unsubscribe, nil
}

func (b *Broker) isClosed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closed
}

// Close drops the Broker's subscriptions and, for a Broker made by
// Connect, closes the NATS connection after flushing what was published.
func (b *Broker) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	subs := b.subs
	b.subs = nil
	b.mu.Unlock()
	for sub := range subs {
		_ = sub.Unsubscribe()
	}
	if b.own {
		if b.nc.IsConnected() {
			if err := b.nc.FlushTimeout(b.timeout); err != nil {
				b.log.Warn("natsbroker: flush before close", "err", err)
			}
		}
		b.nc.Close()
	}
	return nil
}

// redact hides the passwords and tokens of NATS URLs in error messages.
func redact(urls string) string {
	parts := strings.Split(urls, ",")
	for i, u := range parts {
		if at := strings.LastIndex(u, "@"); at >= 0 {
			if scheme := strings.Index(u, "://"); scheme >= 0 && scheme < at {
				parts[i] = u[:scheme+3] + "xxxxx" + u[at:]
			}
		}
	}
	return strings.Join(parts, ",")
}
