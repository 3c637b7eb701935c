package proxy

import (
	"errors"
	"net/http"
)

// Proxy errors, to branch on with errors.Is. Every *Error matches
// ErrFailed, and also the one of the others that says what went wrong.
var (
	// ErrFailed matches every *Error.
	ErrFailed = errors.New("proxy: failed")
	// ErrInvalidURL: the proxy URL is not valid, or choosing the proxy
	// failed.
	ErrInvalidURL = errors.New("proxy: invalid proxy URL")
	// ErrAuth: the proxy wants credentials or refused them (HTTP 407, a
	// failed SOCKS5 authentication, a SOCKS4 identd failure).
	ErrAuth = errors.New("proxy: authentication failed")
	// ErrRefused: the proxy would not open the tunnel (an HTTP status
	// other than 2xx and 407, a SOCKS reply other than success).
	ErrRefused = errors.New("proxy: proxy refused the connection")
	// ErrInvalidReply: the proxy's reply is not valid HTTP or SOCKS, or
	// the proxy closed the connection instead of replying.
	ErrInvalidReply = errors.New("proxy: invalid reply from proxy")
)

// Error is a proxy's refusal or an invalid proxy. It matches ErrFailed
// and Kind (ErrInvalidURL, ErrAuth, ErrRefused, ErrInvalidReply; nil for
// another SOCKS failure), and unwraps to Err, the cause when there is one.
// Network failures and timeouts are not Errors (see the package
// documentation).
type Error struct {
	// Proxy is the proxy's URL, with the password redacted.
	Proxy string
	// StatusCode is the status of an HTTP proxy's refused CONNECT (407:
	// proxy authentication required), else 0.
	StatusCode int
	// Response is an HTTP proxy's refusal (its head only), else nil.
	Response *http.Response
	// Kind is the sentinel error that says what went wrong.
	Kind error
	// Msg describes the failure.
	Msg string
	// Err is the cause, or nil.
	Err error
}

func (e *Error) Error() string {
	s := "proxy: " + e.Msg
	if e.Proxy != "" {
		s = "proxy: " + e.Proxy + ": " + e.Msg
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Is matches ErrFailed.
func (e *Error) Is(target error) bool { return target == ErrFailed }

// Unwrap returns Kind and Err.
func (e *Error) Unwrap() []error {
	var errs []error
	for _, err := range []error{e.Kind, e.Err} {
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}
