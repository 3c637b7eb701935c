package reconnect

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tetherws/tether/ws"
)

// IsRetryable is the default answer to "should the supervisor try again
// after err?", following the reconnection rules of Python websockets with
// two deliberate changes.
//
// Retried:
//   - network errors: refused or reset connections, unreachable hosts, DNS
//     failures (net.Error, syscall errors), and timeouts (the open timeout,
//     context.DeadlineExceeded, os.ErrDeadlineExceeded);
//   - a server that hung up during the opening handshake (an invalid HTTP
//     response caused by EOF or a network error);
//   - HTTP 500, 502, 503 and 504, and 429 Too Many Requests (Python treats
//     429 as fatal; a rate limit is transient by definition, and the
//     supervisor waits at least its Retry-After);
//   - a connection that opened and then ended (errors matching ws.ErrClosed,
//     for example *ws.CloseError).
//
// Fatal:
//   - every other HTTP status, 4xx included (401, 403, 404, …);
//   - invalid URIs, invalid or oversized HTTP responses, invalid upgrade
//     headers, failed extension or subprotocol negotiation, redirects that
//     cannot be followed (a wss→ws TLS downgrade among them): every other
//     ws.ErrInvalidHandshake;
//   - TLS failures: certificate verification errors (unknown authority,
//     wrong host name, expired or invalid certificate), TLS alerts, and a
//     peer that does not speak TLS. Python retries these; tether does not,
//     because they are configuration problems that waiting does not fix,
//     and a bot retrying them forever looks alive while it never connects
//     (or is being intercepted). Failing loudly shows the problem; set
//     Options.Retryable to retry them during a certificate rotation;
//   - context.Canceled and any error of unknown kind (for example from
//     OnConnect or a custom DialContext).
func IsRetryable(err error) bool {
	if err == nil {
		return true
	}
	if isTLSError(err) {
		return false
	}
	var se *ws.StatusError
	if errors.As(err, &se) {
		switch se.StatusCode() {
		case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
			http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return true
		}
		return false
	}
	if errors.Is(err, ws.ErrClosed) {
		return true
	}
	if errors.Is(err, ws.ErrInvalidHandshake) {
		return errors.Is(err, ws.ErrInvalidMessage) && isNetworkError(err)
	}
	if errors.Is(err, context.Canceled) {
		return false
	}
	return isNetworkError(err)
}

func isNetworkError(err error) bool {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	var errno syscall.Errno
	return errors.As(err, &ne) || errors.As(err, &errno)
}

func isTLSError(err error) bool {
	var (
		verify   *tls.CertificateVerificationError
		alert    tls.AlertError
		record   tls.RecordHeaderError
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
	)
	return errors.As(err, &verify) || errors.As(err, &alert) || errors.As(err, &record) ||
		errors.As(err, &unknown) || errors.As(err, &hostname) || errors.As(err, &invalid)
}

// MaxRetryAfter caps the wait that a Retry-After header can ask for: a
// server that answers "Retry-After: 999999999" (31 years) is tried again
// after an hour.
const MaxRetryAfter = time.Hour

// retryAfter returns how long a 429 or 503 answer asked to wait with its
// Retry-After header (delay-seconds or an HTTP date), at most
// MaxRetryAfter, or 0.
func retryAfter(err error, now time.Time) time.Duration {
	var se *ws.StatusError
	if err == nil || !errors.As(err, &se) || se.Response == nil {
		return 0
	}
	if c := se.StatusCode(); c != http.StatusTooManyRequests && c != http.StatusServiceUnavailable {
		return 0
	}
	v := strings.TrimSpace(se.Response.Header.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseUint(v, 10, 64); err == nil {
		return time.Duration(min(n, uint64(MaxRetryAfter/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), MaxRetryAfter)
	}
	return 0
}
