package runtime

import (
	"bytes"
	"net"

	"github.com/tetherws/tether/ws"
)

// readHead reads the HTTP head hr is for from nc, the server's request or
// the client's response, with ws.HeadReader.Fill: the bytes are checked
// as they arrive, each looked at a bounded number of times however the
// peer chops them. It returns a copy of the bytes read past the head (nil
// when there are none), and Fill's errors.
func readHead(nc net.Conn, hr *ws.HeadReader) ([]byte, error) {
	if err := hr.Fill(nc); err != nil {
		return nil, err
	}
	if rest := hr.Rest(); len(rest) > 0 {
		return bytes.Clone(rest), nil
	}
	return nil, nil
}
