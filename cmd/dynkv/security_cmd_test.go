package main

import (
	"bytes"
	"strings"
	"testing"
)

// Off loopback without peer TLS and a gossip key, serve exits 2 with one
// line saying why, before it opens anything.
func TestServeRefusesToRunOpenBeyondLoopback(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"--http-addr", "0.0.0.0:18999", "--advertise-http-addr", "10.1.2.3:18999"},
		{"--gossip-addr", "0.0.0.0:17999"},
		{"--internode-addr", "10.1.2.3:16999"},
	} {
		var stdout, stderr bytes.Buffer
		full := append([]string{"serve", "--node-id", "n1", "--data-dir", dir + "/n1"}, args...)
		code := run(full, strings.NewReader(""), &stdout, &stderr, envMap(nil))
		out := strings.TrimSuffix(stderr.String(), "\n")
		if code != 2 || strings.Contains(out, "\n") || !strings.Contains(out, "refusing to listen on") || !strings.Contains(out, "--insecure") {
			t.Errorf("serve %q: exit %d, stderr %q; want 2 and one line naming --insecure", args, code, stderr.String())
		}
	}
}
