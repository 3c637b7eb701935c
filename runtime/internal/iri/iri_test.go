package iri

import "testing"

const (
	idnHost = "пример.испытание" // an IANA test IDN
	idnACE  = "xn--e1afmkfd.xn--80akhbyknj4f"
)

func TestToURI(t *testing.T) {
	for in, want := range map[string]string{
		"ws://example.com/chat?x=1":             "ws://example.com/chat?x=1",
		"ws://" + idnHost + "/":                 "ws://" + idnACE + "/",
		"ws://ПРИМЕР.испытание:8080/":           "ws://" + idnACE + ":8080/",
		"ws://h/путь?ключ=значение":             "ws://h/%D0%BF%D1%83%D1%82%D1%8C?%D0%BA%D0%BB%D1%8E%D1%87=%D0%B7%D0%BD%D0%B0%D1%87%D0%B5%D0%BD%D0%B8%D0%B5",
		"ws://h/caf%C3%A9/café":                 "ws://h/caf%C3%A9/caf%C3%A9", // existing escapes kept
		"wss://zoë:ünï@h/":                      "wss://zo%C3%AB:%C3%BCn%C3%AF@h/",
		"ws://[::1]:80/ü":                       "ws://[::1]:80/%C3%BC",
		"ws://h/a b?c d":                        "ws://h/a%20b?c%20d",
		"ws://h/?q=<\"{|}>":                     "ws://h/?q=%3C%22%7B%7C%7D%3E",
		"ws://" + idnHost + "/:@!$&'()*+,;=?/?": "ws://" + idnACE + "/:@!$&'()*+,;=?/?", // delimiters kept
	} {
		got, err := ToURI(in)
		if err != nil || got != want {
			t.Errorf("ToURI(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestToURIRejectsAnInvalidIDN(t *testing.T) {
	if got, err := ToURI("ws://\u0301abc.испытание/"); err == nil {
		t.Errorf("ToURI of a host starting with a combining mark = %q, want an error", got)
	}
}
