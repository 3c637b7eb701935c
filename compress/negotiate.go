package compress

import (
	"strconv"

	"github.com/tetherws/tether/ws"
)

// ExtensionName is the extension token of RFC 7692.
const ExtensionName = "permessage-deflate"

const (
	pServerNoTakeover = "server_no_context_takeover"
	pClientNoTakeover = "client_no_context_takeover"
	pServerMaxBits    = "server_max_window_bits"
	pClientMaxBits    = "client_max_window_bits"
)

// bare marks client_max_window_bits offered without a value.
const bare = -1

// params are the permessage-deflate parameters of one offer or answer.
// Window bits are 0 when absent and bare for a valueless
// client_max_window_bits (allowed in offers only).
type params struct {
	serverNoTakeover, clientNoTakeover bool
	serverMaxBits, clientMaxBits       int
}

func negErr(msg string) error { return &ws.NegotiationError{Msg: ExtensionName + ": " + msg} }

// parseBits parses a window bits value: exactly "8" to "15".
func parseBits(v string) (int, bool) {
	n := 0
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' || i == 0 && v[i] == '0' {
			return 0, false
		}
		n = n*10 + int(v[i]-'0')
		if n > 15 {
			return 0, false
		}
	}
	return n, n >= 8
}

// parseParams reads the parameters of an offer (isOffer) or an answer. A
// duplicate, unknown or malformed parameter is a *ws.NegotiationError.
func parseParams(ps []ws.Param, isOffer bool) (params, error) {
	var p params
	seen := map[string]bool{} // at most 4 entries; negotiation is not a hot path
	for _, x := range ps {
		if seen[x.Name] {
			return p, negErr("duplicate parameter " + x.Name)
		}
		seen[x.Name] = true
		switch x.Name {
		case pServerNoTakeover, pClientNoTakeover:
			if x.Value != "" {
				return p, negErr("invalid value for parameter " + x.Name + ": " + strconv.Quote(x.Value))
			}
			if x.Name == pServerNoTakeover {
				p.serverNoTakeover = true
			} else {
				p.clientNoTakeover = true
			}
		case pServerMaxBits:
			n, ok := parseBits(x.Value)
			if !ok {
				return p, negErr("invalid value for parameter " + x.Name + ": " + strconv.Quote(x.Value))
			}
			p.serverMaxBits = n
		case pClientMaxBits:
			if x.Value == "" && isOffer {
				p.clientMaxBits = bare
				continue
			}
			n, ok := parseBits(x.Value)
			if !ok {
				return p, negErr("invalid value for parameter " + x.Name + ": " + strconv.Quote(x.Value))
			}
			p.clientMaxBits = n
		default:
			return p, negErr("invalid parameter name " + strconv.Quote(x.Name))
		}
	}
	return p, nil
}

// build returns the parameters in the order Python's websockets sends them.
func (p params) build() []ws.Param {
	var out []ws.Param
	if p.serverNoTakeover {
		out = append(out, ws.Param{Name: pServerNoTakeover})
	}
	if p.clientNoTakeover {
		out = append(out, ws.Param{Name: pClientNoTakeover})
	}
	if p.serverMaxBits > 0 {
		out = append(out, ws.Param{Name: pServerMaxBits, Value: strconv.Itoa(p.serverMaxBits)})
	}
	switch {
	case p.clientMaxBits == bare:
		out = append(out, ws.Param{Name: pClientMaxBits})
	case p.clientMaxBits > 0:
		out = append(out, ws.Param{Name: pClientMaxBits, Value: strconv.Itoa(p.clientMaxBits)})
	}
	return out
}

// conflicts reports a negotiated extension that is permessage-deflate or
// uses RSV1.
func conflicts(accepted []ws.Extension) string {
	for _, e := range accepted {
		if e.Name() == ExtensionName {
			return "duplicate " + ExtensionName
		}
		if e.RsvBits()&ws.RSV1 != 0 {
			return "RSV1 is already used by " + e.Name()
		}
	}
	return ""
}

// ClientFactory offers permessage-deflate in a client's opening handshake
// and checks the server's answer. It implements ws.ClientExtensionFactory
// and is safe for concurrent use by many connections.
type ClientFactory struct {
	opts   Options
	offer  params
	budget *busyBudget
}

// NewClientFactory returns a client factory for opts, or an error matching
// ErrOptions when opts are invalid.
func NewClientFactory(opts Options) (*ClientFactory, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	f := &ClientFactory{opts: opts, budget: newBudget(&opts)}
	f.offer = params{
		serverNoTakeover: opts.ServerNoContextTakeover,
		clientNoTakeover: opts.ClientNoContextTakeover,
		serverMaxBits:    opts.ServerMaxWindowBits,
		clientMaxBits:    opts.ClientMaxWindowBits,
	}
	if f.offer.clientMaxBits == 0 {
		f.offer.clientMaxBits = bare
	}
	return f, nil
}

// Name returns "permessage-deflate".
func (f *ClientFactory) Name() string { return ExtensionName }

// Offer returns the parameters of the client's offer, e.g.
// "client_max_window_bits" for the zero Options.
func (f *ClientFactory) Offer() []ws.Param { return f.offer.build() }

// Accept checks the server's answer against the offer (RFC 7692 §7.1 and
// the client rules of Python's websockets) and returns the extension.
// Every failure is a *ws.NegotiationError, which fails the handshake.
func (f *ClientFactory) Accept(ps []ws.Param, accepted []ws.Extension) (ws.Extension, error) {
	if c := conflicts(accepted); c != "" {
		return nil, negErr(c)
	}
	ans, err := parseParams(ps, false)
	if err != nil {
		return nil, err
	}
	o := f.offer
	if o.serverNoTakeover && !ans.serverNoTakeover {
		return nil, negErr("expected " + pServerNoTakeover)
	}
	if o.clientNoTakeover {
		ans.clientNoTakeover = true // announced: the client keeps no context anyway
	}
	if o.serverMaxBits > 0 {
		if ans.serverMaxBits == 0 {
			return nil, negErr("expected " + pServerMaxBits)
		}
		if ans.serverMaxBits > o.serverMaxBits {
			return nil, negErr("unsupported " + pServerMaxBits + "=" + strconv.Itoa(ans.serverMaxBits))
		}
	}
	switch {
	case o.clientMaxBits > 0 && ans.clientMaxBits == 0:
		ans.clientMaxBits = o.clientMaxBits
	case o.clientMaxBits > 0 && ans.clientMaxBits > o.clientMaxBits:
		return nil, negErr("unsupported " + pClientMaxBits + "=" + strconv.Itoa(ans.clientMaxBits))
	}
	a := Agreement{
		LocalNoContextTakeover:  ans.clientNoTakeover,
		RemoteNoContextTakeover: ans.serverNoTakeover,
		LocalMaxWindowBits:      orFifteen(ans.clientMaxBits),
		RemoteMaxWindowBits:     orFifteen(ans.serverMaxBits),
	}
	return newDeflate(&f.opts, a, append([]ws.Param(nil), ps...), f.budget), nil
}

func orFifteen(bits int) int {
	if bits <= 0 {
		return 15
	}
	return bits
}

// ServerFactory answers a client's permessage-deflate offer. It implements
// ws.ServerExtensionFactory and is safe for concurrent use by many
// connections.
type ServerFactory struct {
	opts                   Options
	serverBits, clientBits int
	budget                 *busyBudget
}

// NewServerFactory returns a server factory for opts, or an error matching
// ErrOptions when opts are invalid.
func NewServerFactory(opts Options) (*ServerFactory, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	f := &ServerFactory{opts: opts, serverBits: opts.ServerMaxWindowBits, clientBits: opts.ClientMaxWindowBits, budget: newBudget(&opts)}
	if f.serverBits == 0 {
		f.serverBits = DefaultWindowBits
	}
	if f.clientBits == 0 {
		f.clientBits = DefaultWindowBits
	}
	return f, nil
}

// Name returns "permessage-deflate".
func (f *ServerFactory) Name() string { return ExtensionName }

// Negotiate answers one offer (RFC 7692 §7.1 and the server rules of
// Python's websockets). An offer with a duplicate, unknown or malformed
// parameter is declined with a *ws.NegotiationError, and so is an offer
// without client_max_window_bits when RequireClientMaxWindowBits is set;
// the handshake then goes on without this offer.
func (f *ServerFactory) Negotiate(ps []ws.Param, accepted []ws.Extension) ([]ws.Param, ws.Extension, error) {
	if c := conflicts(accepted); c != "" {
		return nil, nil, negErr(c)
	}
	req, err := parseParams(ps, true)
	if err != nil {
		return nil, nil, err
	}
	ans := req
	if f.opts.ServerNoContextTakeover {
		ans.serverNoTakeover = true
	}
	if f.opts.ClientNoContextTakeover {
		ans.clientNoTakeover = true
	}
	if ans.serverMaxBits == 0 || ans.serverMaxBits > f.serverBits {
		ans.serverMaxBits = f.serverBits
	}
	switch {
	case req.clientMaxBits == 0:
		if f.opts.RequireClientMaxWindowBits {
			return nil, nil, negErr("required " + pClientMaxBits)
		}
	case req.clientMaxBits == bare:
		ans.clientMaxBits = f.clientBits
	case req.clientMaxBits > f.clientBits:
		ans.clientMaxBits = f.clientBits
	}
	a := Agreement{
		LocalNoContextTakeover:  ans.serverNoTakeover,
		RemoteNoContextTakeover: ans.clientNoTakeover,
		LocalMaxWindowBits:      orFifteen(ans.serverMaxBits),
		RemoteMaxWindowBits:     orFifteen(ans.clientMaxBits),
	}
	resp := ans.build()
	return resp, newDeflate(&f.opts, a, resp, f.budget), nil
}
