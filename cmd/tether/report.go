package main

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/tetherws/tether"
)

// reporter prints the events of a connect session, as text or as JSON.
// Its methods may be called from several goroutines.
type reporter interface {
	// opened reports the connection open.
	opened(url string, c *tether.Conn)
	// message reports a received message.
	message(m tether.Message)
	// pong reports the round trip time of a ping.
	pong(rtt time.Duration)
	// notice reports a problem that does not end the session (a bad
	// command, a failed ping).
	notice(format string, a ...any)
	// failed reports a failed Dial.
	failed(url string, err error)
	// closed reports the end of the connection: its close status, and
	// err when the end counts as a failure.
	closed(st *tether.CloseError, err error)
}

// textReporter prints messages to msgs and everything else to info. In a
// terminal session both are the terminal; in a pipe, stdout and stderr.
type textReporter struct {
	mu          sync.Mutex
	msgs, info  io.Writer
	interactive bool // "< " before messages, control characters escaped
	rawBinary   bool // binary messages written as they are (pipe --binary)
}

func (r *textReporter) infof(format string, a ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintf(r.info, format+"\n", a...)
}

func (r *textReporter) opened(url string, c *tether.Conn) {
	r.infof("Connected to %s.", url)
	if sp := c.Subprotocol(); sp != "" {
		r.infof("Subprotocol: %s.", sp)
	}
}

func (r *textReporter) message(m tether.Message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.interactive:
		fmt.Fprintln(r.msgs, formatMessage(m))
	case m.IsText():
		fmt.Fprintln(r.msgs, m.Text())
	case r.rawBinary:
		_, _ = r.msgs.Write(m.Data)
	default:
		fmt.Fprintln(r.msgs, hex.EncodeToString(m.Data))
	}
}

func (r *textReporter) pong(rtt time.Duration) { r.infof("Pong received: RTT %s.", formatRTT(rtt)) }

func (r *textReporter) notice(format string, a ...any) { r.infof(format, a...) }

func (r *textReporter) failed(url string, err error) {
	se, ok := errors.AsType[*tether.StatusError](err)
	if !ok {
		r.infof("Failed to connect to %s: %v.", url, err)
		return
	}
	// The status, then the server's reason: the body of its response.
	r.infof("Failed to connect to %s: the server answered HTTP %s.", url, statusLine(se.Response))
	if body := strings.TrimRight(string(se.Body), " \t\r\n"); body != "" {
		r.infof("%s", body)
	}
}

func (r *textReporter) closed(st *tether.CloseError, err error) {
	r.infof("Connection closed: %s.", tether.CloseFrame{Code: st.Code(), Reason: st.Reason()})
	if err != nil {
		r.infof("tether connect: %s", describeClose(err))
	}
}

// maxHex is how many bytes of a binary message a terminal shows.
const maxHex = 64

// formatMessage formats a received message for a terminal: "< text", or
// for binary the length and a hex preview.
func formatMessage(m tether.Message) string {
	if m.IsText() {
		return "< " + escapeControls(m.Text())
	}
	n := len(m.Data)
	if n == 0 {
		return "< (binary) 0 bytes"
	}
	s := fmt.Sprintf("< (binary) %d bytes: %s", n, hex.EncodeToString(m.Data[:min(n, maxHex)]))
	if n > maxHex {
		s += "…"
	}
	return s
}

// escapeControls replaces the control characters of s but newline and tab
// with Go escapes, so that a message cannot move the cursor or change the
// terminal's state.
func escapeControls(s string) string {
	if !strings.ContainsFunc(s, isEscaped) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if isEscaped(r) {
			q := fmt.Sprintf("%+q", string(r))
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func isEscaped(r rune) bool { return r != '\n' && r != '\t' && unicode.IsControl(r) }

// formatRTT formats a round trip time.
func formatRTT(d time.Duration) string {
	if d >= time.Millisecond {
		return d.Round(10 * time.Microsecond).String()
	}
	return d.Round(time.Microsecond).String()
}

// statusLine returns "403 Forbidden" for a response.
func statusLine(r *http.Response) string {
	if r.Status != "" {
		return r.Status
	}
	return fmt.Sprintf("%d %s", r.StatusCode, http.StatusText(r.StatusCode))
}

// describeClose adds the cause to a close error.
func describeClose(err error) string {
	if ce, ok := errors.AsType[*tether.CloseError](err); ok && ce.Cause != nil {
		return ce.Error() + ": " + ce.Cause.Error()
	}
	return err.Error()
}

// jsonReporter writes one JSON object per event and line.
type jsonReporter struct {
	mu  sync.Mutex
	enc *json.Encoder
	now func() time.Time
}

func newJSONReporter(w io.Writer) *jsonReporter {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return &jsonReporter{enc: enc, now: time.Now}
}

// jsonEvent is one line of connect --json. Binary data is base64, as
// encoding/json writes a []byte.
type jsonEvent struct {
	Event       string   `json:"event"` // open, message, pong, notice, error, close
	Time        string   `json:"time"`
	URL         string   `json:"url,omitempty"`
	Subprotocol string   `json:"subprotocol,omitempty"`
	Type        string   `json:"type,omitempty"`   // of a message: text or binary
	Text        *string  `json:"text,omitempty"`   // a text message
	Binary      []byte   `json:"binary,omitempty"` // a binary message
	Size        *int     `json:"size,omitempty"`   // of a message, in bytes
	RTTms       *float64 `json:"rtt_ms,omitempty"`
	Message     string   `json:"message,omitempty"` // of a notice
	Error       string   `json:"error,omitempty"`
	Status      int      `json:"status,omitempty"` // of a rejected handshake
	Body        *string  `json:"body,omitempty"`   // of a rejected handshake
	Code        *int     `json:"code,omitempty"`   // received close code
	Reason      *string  `json:"reason,omitempty"` // received close reason
	Clean       *bool    `json:"clean,omitempty"`  // the close counts as a success
}

func (r *jsonReporter) emit(e jsonEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e.Time = r.now().UTC().Format(time.RFC3339Nano)
	_ = r.enc.Encode(e)
}

func (r *jsonReporter) opened(url string, c *tether.Conn) {
	r.emit(jsonEvent{Event: "open", URL: url, Subprotocol: c.Subprotocol()})
}

func (r *jsonReporter) message(m tether.Message) {
	n := len(m.Data)
	e := jsonEvent{Event: "message", Size: &n}
	if m.IsText() {
		t := m.Text()
		e.Type, e.Text = "text", &t
	} else {
		e.Type, e.Binary = "binary", m.Data // omitted when empty: size says 0
	}
	r.emit(e)
}

func (r *jsonReporter) pong(rtt time.Duration) {
	ms := float64(rtt) / float64(time.Millisecond)
	r.emit(jsonEvent{Event: "pong", RTTms: &ms})
}

func (r *jsonReporter) notice(format string, a ...any) {
	r.emit(jsonEvent{Event: "notice", Message: fmt.Sprintf(format, a...)})
}

func (r *jsonReporter) failed(url string, err error) {
	e := jsonEvent{Event: "error", URL: url, Error: err.Error()}
	if se, ok := errors.AsType[*tether.StatusError](err); ok {
		body := string(se.Body)
		e.Status, e.Body = se.StatusCode(), &body
	}
	r.emit(e)
}

func (r *jsonReporter) closed(st *tether.CloseError, err error) {
	code, reason, clean := int(st.Code()), st.Reason(), err == nil
	e := jsonEvent{Event: "close", Code: &code, Reason: &reason, Clean: &clean}
	if err != nil {
		e.Error = describeClose(err)
	}
	r.emit(e)
}
