package runtime

import (
	"net/url"
	"strconv"

	"github.com/tetherws/tether/runtime/internal/iri"
	"github.com/tetherws/tether/ws"
)

// parseIRI turns an IRI into a URI (see iri.ToURI) and checks it with
// ws.ParseURI.
func parseIRI(raw string) (*url.URL, error) {
	s, err := iri.ToURI(raw)
	if err != nil {
		return nil, &ws.HandshakeError{Msg: "invalid URI " + strconv.Quote(raw) + ": " + err.Error(), Err: ws.ErrInvalidURI}
	}
	return ws.ParseURI(s)
}
