package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/tetherws/tether/runtime"
	"github.com/tetherws/tether/runtime/internal/httpauth"
)

// BasicAuth is HTTP Basic authentication (RFC 7617) for the opening
// handshake, as Python websockets' basic_auth: use its ProcessRequest
// method as runtime.ServerOptions.ProcessRequest. Requests without valid
// credentials get 401 with `WWW-Authenticate: Basic realm="…",
// charset="UTF-8"` and a body saying "Missing credentials", "Unsupported
// credentials" (another scheme, bad base64, no ':') or "Invalid
// credentials". On success the handshake goes on and
// runtime.Conn.Username returns the user name. Use it over TLS: Basic
// sends the password in clear.
type BasicAuth struct {
	// Realm is sent in the challenge.
	Realm string
	// Credentials maps user names to passwords, compared in constant time.
	Credentials map[string]string
	// Check, if set, replaces Credentials: it reports whether the
	// credentials are valid. An error answers 500.
	Check func(ctx context.Context, username, password string) (bool, error)
}

// ProcessRequest checks the request's Basic credentials.
func (a *BasicAuth) ProcessRequest(ctx context.Context, r *http.Request) (*runtime.Response, error) {
	if a.Check == nil && a.Credentials == nil {
		return nil, errors.New("auth: BasicAuth needs Credentials or Check")
	}
	challenge := []string{"Basic realm=" + httpauth.Quote(a.Realm) + `, charset="UTF-8"`}
	authz := r.Header.Get("Authorization")
	if authz == "" {
		return unauthorized(challenge, "Missing credentials\n", false), nil
	}
	user, password, ok := httpauth.ParseBasic(authz)
	if !ok {
		return unauthorized(challenge, "Unsupported credentials\n", false), nil
	}
	var valid bool
	if a.Check != nil {
		var err error
		if valid, err = a.Check(ctx, user, password); err != nil {
			return nil, fmt.Errorf("auth: checking Basic credentials: %w", err)
		}
	} else {
		want, known := a.Credentials[user]
		valid = secretEqual(password, want) && known
	}
	if !valid {
		return unauthorized(challenge, "Invalid credentials\n", false), nil
	}
	runtime.SetUsername(ctx, user)
	return nil, nil
}
