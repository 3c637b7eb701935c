package main

import (
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tetherws/tether"
)

// scrapeMetrics returns what a Prometheus scrape of the chat's /metrics
// reads.
func scrapeMetrics(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.Get(base + "metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s, %v", resp.Status, err)
	}
	return string(body)
}

// sample returns the value of the series (name and labels as the
// exposition writes them) in text, or -1 when it is absent.
func sample(text, series string) float64 {
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindStringSubmatch(text)
	if m == nil {
		return -1
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return -1
	}
	return v
}

// TestMetricsShowConnectionsMessagesBytesAndCloseCodes: two tabs join,
// one says something, the other leaves with 1000; a scrape of /metrics
// shows it all.
func TestMetricsShowConnectionsMessagesBytesAndCloseCodes(t *testing.T) {
	base, _ := startChat(t)
	alice := dialChat(t, base, "alice")
	recvEvent(t, alice, "join")
	bob := dialChat(t, base, "bob")
	recvEvent(t, alice, "join")
	recvEvent(t, bob, "join")
	const said = "  hello bob  "
	if err := alice.SendText(testCtx(t), said); err != nil {
		t.Fatal(err)
	}
	recvEvent(t, bob, "message")
	recvEvent(t, alice, "message")
	if err := bob.Close(tether.CloseNormal, "bye"); err != nil {
		t.Fatal(err)
	}
	recvEvent(t, alice, "leave")

	// The server counts bob's end once its side of the connection has
	// ended, a moment after the hub saw him leave.
	closed := `tether_connections_closed_total{code_received="1000",code_sent="1000",initiator="peer",side="server"}`
	var text string
	for deadline := time.Now().Add(5 * time.Second); ; {
		text = scrapeMetrics(t, base)
		if sample(text, closed) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s in:\n%s", closed, text)
		}
		time.Sleep(10 * time.Millisecond) // polling a scrape: nothing to wait on
	}
	for series, want := range map[string]float64{
		`tether_connections_opened_total{side="server"}`:          2,
		`tether_connections_open{side="server"}`:                  1,
		`tether_messages_total{direction="received",type="text"}`: 1,
		`tether_message_bytes_total{direction="received"}`:        float64(len(said)),
	} {
		if got := sample(text, series); got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
	// The events sent: the joins (alice saw two, bob one), alice's
	// message to both, bob's leave to alice.
	if got := sample(text, `tether_messages_total{direction="sent",type="text"}`); got != 6 {
		t.Errorf("text messages sent = %v, want 6", got)
	}
	for _, dir := range []string{"received", "sent"} {
		if got := sample(text, `tether_wire_bytes_total{direction="`+dir+`"}`); got <= 0 {
			t.Errorf("wire bytes %s = %v", dir, got)
		}
	}
	if !strings.Contains(text, "# TYPE tether_connection_duration_seconds histogram") {
		t.Error("no connection duration histogram")
	}
	if t.Failed() {
		t.Log(text)
	}
}
