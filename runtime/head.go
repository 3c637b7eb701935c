package runtime

import (
	"errors"
	"fmt"
	"net"
	"net/http"

	"github.com/tetherws/tether/ws"
)

// readHead reads from nc until parse finds a complete head, and returns the
// parsed head and the bytes read past it.
func readHead[T any](nc net.Conn, lim ws.Limits, parse func([]byte) (T, int, error)) (T, []byte, error) {
	var zero T
	max := lim.MaxHeadSize()
	buf := make([]byte, 0, 4096)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := nc.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if n > 0 {
			v, used, perr := parse(buf)
			if perr == nil {
				rest := append([]byte(nil), buf[used:]...)
				return v, rest, nil
			}
			if !errors.Is(perr, ws.ErrNeedMore) {
				return zero, nil, perr
			}
			if len(buf) > max {
				return zero, nil, &ws.HandshakeError{Status: http.StatusRequestHeaderFieldsTooLarge, Msg: "HTTP head too large", Err: ws.ErrSecurityLimit}
			}
		}
		if err != nil {
			if n == 0 && len(buf) == 0 {
				return zero, nil, &ws.HandshakeError{Msg: "connection closed before the HTTP head: " + err.Error(), Err: fmt.Errorf("%w: %w", ws.ErrInvalidMessage, err)}
			}
			return zero, nil, &ws.HandshakeError{Msg: "connection closed in the HTTP head: " + err.Error(), Err: fmt.Errorf("%w: %w", ws.ErrInvalidMessage, err)}
		}
	}
}

// prefixReader reads prefix, then r.
type prefixReader struct {
	prefix []byte
	r      net.Conn
}

func (p *prefixReader) Read(b []byte) (int, error) {
	if len(p.prefix) > 0 {
		n := copy(b, p.prefix)
		p.prefix = p.prefix[n:]
		return n, nil
	}
	return p.r.Read(b)
}
