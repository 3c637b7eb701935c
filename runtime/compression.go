package runtime

import (
	"fmt"
	"sync"

	"github.com/tetherws/tether/compress"
	"github.com/tetherws/tether/ws"
)

// permessage-deflate is negotiated by default on both sides, as in Python
// websockets. Options.Compression tunes it; Options.DisableCompression
// turns it off. A factory for "permessage-deflate" given explicitly in the
// extension lists replaces the default one.
//
// The process makes one factory per distinct compress.Options value and
// side, shared by every Server and Dial using it, so that the number of
// busy connections keeping an encoder (compress.Options.BusyEncoders and
// BusyCompressors) is bounded for the process, not per connection.

var (
	clientFactories sync.Map // compress.Options → *compress.ClientFactory
	serverFactories sync.Map // compress.Options → *compress.ServerFactory
)

// sharedFactory returns the factory of m for o, making it with mk the
// first time.
func sharedFactory[F any](m *sync.Map, o compress.Options, mk func(compress.Options) (F, error)) (F, error) {
	if f, ok := m.Load(o); ok {
		return f.(F), nil
	}
	f, err := mk(o)
	if err != nil {
		return f, err
	}
	v, _ := m.LoadOrStore(o, f)
	return v.(F), nil
}

func (o *Options) compressionOptions() compress.Options {
	if o.Compression != nil {
		return *o.Compression
	}
	return compress.Default
}

// clientExtensions returns the factories to offer: the caller's, then
// permessage-deflate unless disabled or already there.
func clientExtensions(o *DialOptions) ([]ws.ClientExtensionFactory, error) {
	exts := o.Extensions
	if o.DisableCompression || hasFactory(exts, compress.ExtensionName) {
		return exts, nil
	}
	f, err := sharedFactory(&clientFactories, o.compressionOptions(), compress.NewClientFactory)
	if err != nil {
		return nil, fmt.Errorf("tether: compression options: %w", err)
	}
	return append(exts[:len(exts):len(exts)], f), nil
}

// serverExtensions returns the factories a server negotiates with.
func serverExtensions(o *ServerOptions) ([]ws.ServerExtensionFactory, error) {
	exts := o.Handshake.Extensions
	if o.DisableCompression || hasFactory(exts, compress.ExtensionName) {
		return exts, nil
	}
	f, err := sharedFactory(&serverFactories, o.compressionOptions(), compress.NewServerFactory)
	if err != nil {
		return nil, fmt.Errorf("tether: compression options: %w", err)
	}
	return append(exts[:len(exts):len(exts)], f), nil
}

func hasFactory[F interface{ Name() string }](list []F, name string) bool {
	for _, f := range list {
		if f.Name() == name {
			return true
		}
	}
	return false
}
