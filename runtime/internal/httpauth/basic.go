package httpauth

import (
	"encoding/base64"
	"strings"
)

// ParseBasic parses an Authorization value with Basic credentials. ok is
// false for another scheme, bad base64, or a decoded value without ':'.
func ParseBasic(authz string) (user, password string, ok bool) {
	scheme, token, _ := strings.Cut(strings.TrimSpace(authz), " ")
	if !strings.EqualFold(scheme, "Basic") {
		return "", "", false
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(token))
	if err != nil {
		return "", "", false
	}
	user, password, ok = strings.Cut(string(b), ":")
	return user, password, ok
}
