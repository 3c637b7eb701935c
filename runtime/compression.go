package runtime

import (
	"fmt"

	"github.com/tetherws/tether/compress"
	"github.com/tetherws/tether/ws"
)

// permessage-deflate is negotiated by default on both sides, as in Python
// websockets. Options.Compression tunes it; Options.DisableCompression
// turns it off. A factory for "permessage-deflate" given explicitly in the
// extension lists replaces the default one.

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
	f, err := compress.NewClientFactory(o.compressionOptions())
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
	f, err := compress.NewServerFactory(o.compressionOptions())
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
