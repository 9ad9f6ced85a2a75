package main

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
	"time"
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

// TestConfig: the shop takes dynkv's double-dash client flags and reads
// them, by dynkv's rule, from the same variables as the dynkv CLI.
func TestConfig(t *testing.T) {
	env := func(m map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}
	cfg, err := parseConfig(nil, env(nil), io.Discard)
	if err != nil || cfg.endpoints != "127.0.0.1:8081,127.0.0.1:8082,127.0.0.1:8083" || cfg.addr != "127.0.0.1:8090" || cfg.cartTTL != 7*24*time.Hour {
		t.Errorf("defaults: %+v, %v; want dynkv dev's nodes, bare like the dynkv CLI's", cfg, err)
	}
	vars := env(map[string]string{"DYNKV_ENDPOINTS": "a:1", "DYNKV_CA_CERT": "ca.crt", "DYNKV_TOKEN": "tok", "DYNKV_SHOPPINGCART_ADDR": "0.0.0.0:9",
		"DYNKV_SHOPPINGCART_CART_TTL": "30m"})
	cfg, err = parseConfig([]string{"--endpoints", "b:2", "--client-cert", "c.crt", "--client-key=c.key"}, vars, io.Discard)
	want := config{endpoints: "b:2", addr: "0.0.0.0:9", caCert: "ca.crt", clientCert: "c.crt", clientKey: "c.key", token: "tok", cartTTL: 30 * time.Minute}
	if err != nil || cfg != want {
		t.Errorf("flags and environment: %+v, %v; want %+v", cfg, err, want)
	}
	if _, err := parseConfig([]string{"--nosuch"}, env(nil), io.Discard); err == nil || !strings.Contains(err.Error(), "--nosuch") {
		t.Errorf("unknown flag: %v; want it named with two dashes", err)
	}
	if err := run([]string{"--cart-ttl", "-1h"}); !errors.As(err, new(usageError)) {
		t.Errorf("a negative --cart-ttl: %v; want a usage error (exit 2)", err)
	}
	if err := run([]string{"--addr"}); !errors.As(err, new(usageError)) {
		t.Errorf("--addr without a value: %v; want a usage error (exit 2)", err)
	}
	var help bytes.Buffer
	if _, err := parseConfig([]string{"--help"}, env(nil), &help); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("--help: %v", err)
	}
	for _, line := range []string{"  --endpoints URLs", "env DYNKV_ENDPOINTS,", "  --addr address", "env DYNKV_SHOPPINGCART_ADDR,",
		"  --ca-cert file", "env DYNKV_CA_CERT,", "  --client-cert file", "  --client-key file", "  --token token", "env DYNKV_TOKEN,",
		"  --cart-ttl duration", "env DYNKV_SHOPPINGCART_CART_TTL, default 168h0m0s"} {
		if !strings.Contains(help.String(), line) {
			t.Errorf("--help lacks %q:\n%s", line, help.String())
		}
	}
}
