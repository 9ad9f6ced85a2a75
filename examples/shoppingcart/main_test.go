package main

import (
	"strings"
	"testing"
)

// TestSecurityOptions: no flags is a plain client; a client certificate
// without the cluster CA, or a token that would break the header, is
// refused without echoing the token.
func TestSecurityOptions(t *testing.T) {
	if opts, err := securityOptions("", "", "", ""); err != nil || len(opts) != 0 {
		t.Errorf("no flags: %d options, %v", len(opts), err)
	}
	if _, err := securityOptions("", "client.crt", "client.key", ""); err == nil {
		t.Error("a client certificate without --ca-cert accepted")
	}
	const token = "dkv_secret secret"
	opts, err := securityOptions("", "", "", token)
	if err != nil || len(opts) != 1 {
		t.Fatalf("token: %d options, %v", len(opts), err)
	}
	if err := run([]string{"--endpoints", "127.0.0.1:1", "--token", token}); err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("run with a token holding a space: %v; want a refusal that does not show it", err)
	}
}
