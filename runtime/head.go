package runtime

import (
	"bytes"
	"fmt"
	"net"
	"net/http"

	"github.com/tetherws/tether/ws"
)

// headReadSize is the size of each read of an HTTP head.
const headReadSize = 4096

// readHead reads an HTTP head from nc: a request (T is *http.Request, on
// the server) or a response (T is *http.Response, on the client, from the
// server or a proxy). A ws.HeadReader checks the bytes as they arrive and
// finds the end of the head, looking at each byte a bounded number of
// times however the peer chops them; parse then runs once, on the
// complete head. It returns the parsed head and the bytes read past it.
// The errors are ws.HeadReader's and parse's, and a *ws.HandshakeError
// matching ws.ErrInvalidMessage and the read error when the connection
// ends first.
func readHead[T *http.Request | *http.Response](nc net.Conn, lim ws.Limits, parse func([]byte) (T, int, error)) (T, []byte, error) {
	var zero T
	var hr *ws.HeadReader
	if _, ok := any(zero).(*http.Request); ok {
		hr = ws.NewRequestReader(lim)
	} else {
		hr = ws.NewResponseReader(lim, true) // parse decides about HTTP/1.0
	}
	buf := make([]byte, headReadSize)
	for {
		n, err := nc.Read(buf)
		if n > 0 {
			done, herr := hr.Feed(buf[:n])
			if herr != nil {
				return zero, nil, herr
			}
			if done {
				v, _, perr := parse(hr.Head())
				if perr != nil {
					return zero, nil, perr
				}
				var rest []byte
				if r := hr.Rest(); len(r) > 0 {
					rest = bytes.Clone(r)
				}
				return v, rest, nil
			}
		}
		if err != nil {
			if hr.Buffered() == 0 {
				return zero, nil, &ws.HandshakeError{Msg: "connection closed before the HTTP head: " + err.Error(), Err: fmt.Errorf("%w: %w", ws.ErrInvalidMessage, err)}
			}
			return zero, nil, &ws.HandshakeError{Msg: "connection closed in the HTTP head: " + err.Error(), Err: fmt.Errorf("%w: %w", ws.ErrInvalidMessage, err)}
		}
	}
}
