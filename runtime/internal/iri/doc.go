// Package iri converts the IRIs (RFC 3987) that tether's client accepts,
// as server and proxy URLs and in redirect Locations, to the URIs that go
// on the wire: the host IDNA-encoded, the rest percent-encoded as UTF-8.
package iri
