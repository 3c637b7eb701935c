package ws

import (
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// hostCheckRequest parses a valid handshake request with this Host header
// ("" for none).
func hostCheckRequest(t *testing.T, host string) *http.Request {
	t.Helper()
	head := "GET /chat HTTP/1.1\r\n"
	if host != "" {
		head += "Host: " + host + "\r\n"
	}
	head += "Upgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	r, _, err := ParseRequest([]byte(head), Limits{})
	if err != nil {
		t.Fatalf("ParseRequest: %v", err)
	}
	return r
}

func TestHostCheckAcceptsListedHostsAndRejectsOthersWith400(t *testing.T) {
	s := ServerHandshake{
		Hosts:        []string{"example.com", "api.example.com:8443", "[::1]", "127.0.0.1:9000"},
		HostPatterns: []*regexp.Regexp{regexp.MustCompile(`[a-z]+\.example\.org(:\d+)?`)},
	}
	for host, ok := range map[string]bool{
		"example.com":          true,
		"EXAMPLE.com:8080":     true, // no port in the entry: any port
		"example.com.":         true, // trailing dot
		"api.example.com:8443": true,
		"api.example.com":      false, // the entry names a port
		"api.example.com:443":  false,
		"[::1]:80":             true,
		"127.0.0.1:9000":       true,
		"127.0.0.1:9001":       false,
		"chat.example.org":     true,
		"chat.example.org:81":  true,
		"x.chat.example.org":   false, // patterns match the whole value
		"evil.com":             false,
		"example.com.evil.com": false,
		"192.168.1.10":         false,
	} {
		_, n, err := s.Accept(hostCheckRequest(t, host))
		CloseExtensions(n.Extensions)
		if ok {
			if err != nil {
				t.Errorf("Host %q: %v", host, err)
			}
			continue
		}
		var he *HandshakeError
		if !errors.As(err, &he) || he.Status != http.StatusBadRequest || !errors.Is(err, ErrInvalidHost) {
			t.Errorf("Host %q: got %v, want 400 ErrInvalidHost", host, err)
			continue
		}
		status, _, body := RejectResponse(err)
		if status != 400 || !strings.Contains(string(body), "invalid Host header") {
			t.Errorf("Host %q: response %d %q", host, status, body)
		}
	}
}

func TestHostCheckIsOffByDefaultButAMissingHostIsStillRejected(t *testing.T) {
	var s ServerHandshake
	if _, _, err := s.Accept(hostCheckRequest(t, "anything.example")); err != nil {
		t.Fatalf("no Host check configured: %v", err)
	}
	_, _, err := s.Accept(hostCheckRequest(t, ""))
	var he *HandshakeError
	if !errors.As(err, &he) || he.Status != 400 || !errors.Is(err, ErrInvalidHost) {
		t.Fatalf("missing Host: got %v, want 400", err)
	}
	s.Hosts = []string{"example.com"}
	if _, _, err := s.Accept(hostCheckRequest(t, "")); !errors.Is(err, ErrInvalidHost) {
		t.Fatalf("missing Host with a Host check: got %v", err)
	}
}

func TestCheckHostReplacesTheListsAndItsErrorGives400(t *testing.T) {
	s := ServerHandshake{
		Hosts: []string{"never.example"},
		CheckHost: func(r *http.Request) error {
			if strings.HasSuffix(r.Host, ".internal") {
				return nil
			}
			return errors.New("not an internal host")
		},
	}
	if _, _, err := s.Accept(hostCheckRequest(t, "svc.internal")); err != nil {
		t.Fatalf("CheckHost accepted but Accept failed: %v", err)
	}
	_, _, err := s.Accept(hostCheckRequest(t, "never.example"))
	var he *HandshakeError
	if !errors.As(err, &he) || he.Status != 400 || !errors.Is(err, ErrInvalidHost) || !strings.Contains(err.Error(), "not an internal host") {
		t.Fatalf("got %v", err)
	}
}
