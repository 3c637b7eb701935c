package netctx

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"time"
)

// Bind makes nc honour ctx until release is called: nc's deadline becomes
// ctx's, and its reads and writes fail as soon as ctx ends. release stops
// that and clears the deadline.
func Bind(ctx context.Context, nc net.Conn) (release func()) {
	if d, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(d)
	}
	after := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Unix(1, 0)) })
	return func() {
		after()
		_ = nc.SetDeadline(time.Time{})
	}
}

// TLSClient runs a TLS client handshake on nc under ctx with a copy of cfg
// (nil: the zero config) whose ServerName defaults to serverName and
// NextProtos (the ALPN offer) to protos. When the handshake fails, nc is
// closed.
func TLSClient(ctx context.Context, nc net.Conn, cfg *tls.Config, serverName string, protos ...string) (*tls.Conn, error) {
	cfg = cfg.Clone()
	if cfg == nil {
		cfg = &tls.Config{}
	}
	if cfg.ServerName == "" {
		cfg.ServerName = serverName
	}
	if len(cfg.NextProtos) == 0 {
		cfg.NextProtos = protos
	}
	tc := tls.Client(nc, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		_ = nc.Close()
		return nil, err
	}
	return tc, nil
}

// IsTimeout reports a network timeout (os.ErrDeadlineExceeded among them)
// or an expired context.
func IsTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded)
}
