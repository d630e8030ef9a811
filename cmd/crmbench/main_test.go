package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestLoopbackOnly: crmbench loads servers of this machine only.
func TestLoopbackOnly(t *testing.T) {
	for _, u := range []string{"http://127.0.0.1:8080", "http://localhost:8080", "http://[::1]:8080", "http://127.0.0.2:80"} {
		if err := loopbackOnly(u); err != nil {
			t.Errorf("%s refused: %v", u, err)
		}
	}
	for _, u := range []string{"http://10.0.0.1:8080", "http://example.com", "http://192.168.1.1", "127.0.0.1:8080", ""} {
		var out, errOut bytes.Buffer
		err := run([]string{"--url", u, "--duration", "1ms"}, &out, &errOut)
		if err == nil || !strings.Contains(err.Error(), "--url") {
			t.Errorf("%q: err = %v, want a refusal of the URL", u, err)
		}
	}
}
