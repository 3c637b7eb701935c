package tether

import (
	"context"
	"net/http"

	"github.com/tetherws/tether/runtime"
	"github.com/tetherws/tether/ws"
)

// Conn is one WebSocket connection, client or server side. Received
// messages arrive on Messages(); Send, Ping and Close take a context.
type Conn = runtime.Conn

// Message is a received message (or, with Options.Streaming, one piece of
// one).
type Message = runtime.Message

// Options configure a connection: limits, timeouts, keepalive,
// compression and logging. The zero value gives the defaults.
type Options = runtime.Options

// DialOptions configure Dial: the connection Options plus the opening
// handshake (headers, subprotocols, proxy, TLS, credentials, redirects).
type DialOptions = runtime.DialOptions

// ServerOptions configure Accept and Server: the connection Options plus
// the opening handshake (origins, subprotocols, hooks, authentication).
type ServerOptions = runtime.ServerOptions

// SendOptions tune one Send (for example, skip compression).
type SendOptions = runtime.SendOptions

// MessageWriter writes one message as a series of frames.
type MessageWriter = runtime.MessageWriter

// Credentials are a user name and password for HTTP authentication.
type Credentials = runtime.Credentials

// Server accepts WebSocket connections and runs a Handler for each. It is
// also an http.Handler.
type Server = runtime.Server

// Handler serves one connection. ctx is cancelled when the connection
// ends. A nil error closes the connection with 1000; an error closes it
// with 1011.
type Handler = runtime.Handler

// Router sends each connection to the Handler registered for its path.
type Router = runtime.Router

// Response is an HTTP response a server hook returns to reject (or
// answer) a handshake.
type Response = runtime.Response

// ProcessRequestFunc is a server hook run on each handshake request.
type ProcessRequestFunc = runtime.ProcessRequestFunc

// BroadcastOptions tune BroadcastWith.
type BroadcastOptions = runtime.BroadcastOptions

// BroadcastResult says what BroadcastWith did for each connection.
type BroadcastResult = runtime.BroadcastResult

// SkipError reports a connection that a broadcast skipped.
type SkipError = runtime.SkipError

// RedirectError is a redirect Dial did not follow; it matches one of
// ErrTooManyRedirects, ErrInsecureRedirect and ErrRedirectRefused.
type RedirectError = runtime.RedirectError

// Dial opens a client connection to a ws:// or wss:// URL. A nil o gives
// the defaults. The *http.Response is the server's answer to the opening
// handshake, also on a rejection (see StatusError).
func Dial(ctx context.Context, url string, o *DialOptions) (*Conn, *http.Response, error) {
	return runtime.Dial(ctx, url, o)
}

// Accept upgrades an HTTP request inside a net/http handler (HTTP/1.1
// upgrade or RFC 8441 extended CONNECT). On failure it has already written
// the HTTP error response.
func Accept(w http.ResponseWriter, r *http.Request, o *ServerOptions) (*Conn, error) {
	return runtime.Accept(w, r, o)
}

// Broadcast sends one message to every connection, framing (and, where
// the connections allow it, compressing) it once. Connections that are
// closed or too slow are skipped; the error joins a *SkipError for each.
func Broadcast(ctx context.Context, conns []*Conn, typ Opcode, data []byte) error {
	return runtime.Broadcast(ctx, conns, typ, data)
}

// BroadcastWith is Broadcast with options, reporting per connection.
func BroadcastWith(ctx context.Context, conns []*Conn, typ Opcode, data []byte, o BroadcastOptions) (BroadcastResult, error) {
	return runtime.BroadcastWith(ctx, conns, typ, data, o)
}

// ChainProcessRequest runs server hooks in order; the first that answers
// ends the chain.
func ChainProcessRequest(hooks ...ProcessRequestFunc) ProcessRequestFunc {
	return runtime.ChainProcessRequest(hooks...)
}

// SetUsername records the authenticated user name for the connection being
// opened; a ProcessRequest hook calls it, and Conn.Username returns it.
func SetUsername(ctx context.Context, username string) { runtime.SetUsername(ctx, username) }

// Default limits and timeouts of Options (the defaults of Python's
// websockets).
const (
	DefaultMaxMessageSize = ws.DefaultMaxMessageSize
	DefaultMaxQueue       = runtime.DefaultMaxQueue
	DefaultWriteLimit     = runtime.DefaultWriteLimit
	DefaultOpenTimeout    = runtime.DefaultOpenTimeout
	DefaultCloseTimeout   = runtime.DefaultCloseTimeout
)

// DefaultMaxRedirects is the number of redirects Dial follows when
// DialOptions.MaxRedirects is 0.
const DefaultMaxRedirects = runtime.DefaultMaxRedirects

// DefaultRetryAfter is the Retry-After of a Server's 503 answers past
// MaxConnections or MaxHandshakes when Server.RetryAfter is 0.
const DefaultRetryAfter = runtime.DefaultRetryAfter

// Errors of the runtime to branch on with errors.Is.
var (
	// ErrClosing: the connection is closing; nothing more can be sent.
	ErrClosing = runtime.ErrClosing
	// ErrNotOpen: the connection is not open (a broadcast skips it).
	ErrNotOpen = runtime.ErrNotOpen
	// ErrSlowConnection: more than Options.WriteLimit bytes are queued.
	ErrSlowConnection = runtime.ErrSlowConnection
	// ErrCloseTimeout: the closing handshake did not finish within
	// Options.CloseTimeout.
	ErrCloseTimeout = runtime.ErrCloseTimeout
	// ErrUndelivered: Conn.Err matches it when messages received were
	// dropped because the connection was aborted while Messages was full
	// (what was delivered is a prefix of what the peer sent).
	ErrUndelivered = runtime.ErrUndelivered
	// ErrServerClosed: Serve returns it after Shutdown.
	ErrServerClosed = runtime.ErrServerClosed
	// ErrInvalidUTF8: a text message to send is not valid UTF-8; nothing
	// was sent. It matches ErrInvalidSend.
	ErrInvalidUTF8 = runtime.ErrInvalidUTF8
	// ErrDuplicatePing: Ping's payload equals one still waiting for its
	// pong. It matches ErrConcurrency.
	ErrDuplicatePing = runtime.ErrDuplicatePing
	// ErrFragmentedSend: Broadcast skipped a connection in the middle of
	// sending a fragmented message. It matches ErrConcurrency.
	ErrFragmentedSend = runtime.ErrFragmentedSend
	// ErrNoRoute: Router.Serve found no pattern for the connection's path.
	ErrNoRoute = runtime.ErrNoRoute
	// ErrHTTP2Unsupported: Dial with DialOptions.HTTP2 reached a server
	// that does not take WebSockets over HTTP/2.
	ErrHTTP2Unsupported = runtime.ErrHTTP2Unsupported
	// ErrTooManyRedirects: Dial reached DialOptions.MaxRedirects.
	ErrTooManyRedirects = runtime.ErrTooManyRedirects
	// ErrInsecureRedirect: a wss:// URL redirected to ws://.
	ErrInsecureRedirect = runtime.ErrInsecureRedirect
	// ErrRedirectRefused: a redirect the connection can't follow (over
	// DialOptions.NetConn, or to another origin over
	// DialOptions.UnixSocket).
	ErrRedirectRefused = runtime.ErrRedirectRefused
)
