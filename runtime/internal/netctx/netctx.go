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

// TLSConfig returns a copy of cfg (nil: the zero config) whose ServerName
// defaults to serverName and NextProtos (the ALPN protocols) to protos:
// the defaults of every TLS configuration tether's clients and servers
// run.
func TLSConfig(cfg *tls.Config, serverName string, protos ...string) *tls.Config {
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
	return cfg
}

// TLSClient runs a TLS client handshake on nc under ctx with
// TLSConfig(cfg, serverName, protos...). When the handshake fails, nc is
// closed.
func TLSClient(ctx context.Context, nc net.Conn, cfg *tls.Config, serverName string, protos ...string) (*tls.Conn, error) {
	tc := tls.Client(nc, TLSConfig(cfg, serverName, protos...))
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
