//go:build unix

package node

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dynkv/dynkv/node/internal/testutil"
	"github.com/dynkv/dynkv/security/auth"
)

// TestOpenAPI's single-node scenarios (openapi_test.go): a secured node
// refusing, overloaded and draining, and the HTTP edge's refusals; a node
// whose disk is full; gossip keyring changes on real serf.

// openAPISecured: tokens and roles, the refusals before any handler, and
// a node draining.
func openAPISecured(t *testing.T, s *specChecker) {
	store, tokens := secureTokens(t, t.TempDir())
	c := startSingle(t, func(cfg *Config) {
		cfg.Security = Security{Tokens: store}
		cfg.MaxValueBytes = 1000
		// Room for exactly one client body of the largest size.
		cfg.MaxInflightBytes = cfg.MinInflightBytes()
		cfg.ShutdownDrain = 5 * time.Second
	})
	a := c.Addr(0)
	read, write, admin := bearer(tokens[auth.RoleRead]), bearer(tokens[auth.RoleWrite]), bearer(tokens[auth.RoleAdmin])
	text := append([]string{"Content-Type", "text/plain"}, write...)
	s.call(t, 200, "GET", a, "/openapi.json", nil, read...)
	s.call(t, 401, "GET", a, "/openapi.json", nil)
	s.call(t, 401, "GET", a, "/kv/k", nil)
	s.call(t, 401, "GET", a, "/kv/k", nil, "Authorization", "Bearer dkv_unknownunknownunknownunknownunknownunknow")
	s.call(t, 401, "POST", a, "/nope", nil)
	s.call(t, 403, "PUT", a, "/kv/k", []byte("v"), read...)
	s.call(t, 204, "PUT", a, "/kv/k", []byte("v"), text...)
	s.call(t, 200, "GET", a, "/kv/k", nil, read...)
	// A named bucket's keys take the roles of /kv/{key}'s.
	s.call(t, 401, "PUT", a, "/buckets/b/kv/k", []byte("v"))
	s.call(t, 403, "PUT", a, "/buckets/b/kv/k", []byte("v"), read...)
	s.call(t, 204, "PUT", a, "/buckets/b/kv/k", []byte("v"), text...)
	s.call(t, 200, "GET", a, "/buckets/b/kv/k", nil, read...)
	s.call(t, 403, "DELETE", a, "/buckets/b/kv/k", nil, read...)
	s.call(t, 403, "GET", a, "/admin/local/k", nil, write...)
	s.call(t, 200, "GET", a, "/admin/local/k", nil, admin...)
	s.call(t, 403, "POST", a, "/cluster/leave", nil, write...)
	s.call(t, 401, "GET", a, "/metrics", nil)
	s.call(t, 200, "GET", a, "/metrics", nil, read...)
	for _, probe := range []string{"/healthz", "/readyz", "/livez"} {
		s.call(t, 200, "GET", a, probe, nil)
	}
	openAPIEdgeRefusals(t, s, a, tokens[auth.RoleWrite])
	openAPIOverloaded(t, s, a, tokens[auth.RoleWrite], read)

	done := make(chan error, 1)
	go func() { done <- c.Stop(0) }()
	eventually(t, 5*time.Second, "the node to drain", func() bool {
		return strings.Contains(string(do(t, "GET", a, "/livez", nil).body), `"draining":true`)
	})
	s.call(t, 200, "GET", a, "/livez", nil)
	s.call(t, 503, "GET", a, "/healthz", nil)
	s.call(t, 503, "HEAD", a, "/readyz", nil)
	s.call(t, 503, "GET", a, "/kv/k", nil, read...)
	s.call(t, 503, "PUT", a, "/kv/k", []byte("v"), text...)
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("stop: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the node did not stop")
	}
}

// openAPIEdgeRefusals: what the HTTP edge refuses on a raw connection,
// each time closing it.
func openAPIEdgeRefusals(t *testing.T, s *specChecker, a, token string) {
	auth := "Authorization: Bearer " + token + "\r\n"
	body := "0\r\n\r\nPUT /kv/smuggled HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nbad"
	for _, tc := range []struct {
		method, path, request string
		status                int
	}{
		{"GET", "/livez", "GET /livez HTTP/2.0\r\nHost: x\r\n\r\n", 505},
		{"GET", "/kv/k", "GET /kv/k HTTP/1.1\r\nHost: x\r\n" + auth + "X-Filler: " + strings.Repeat("f", 256<<10) + "\r\n\r\n", 431},
		{"PUT", "/kv/front", fmt.Sprintf("PUT /kv/front HTTP/1.1\r\nHost: x\r\n%sContent-Length: %d\r\nTransfer-Encoding: chunked\r\n\r\n%s", auth, len(body), body), 400},
		// fasthttp reads (up to) the first 8 KiB of a body before any handler runs.
		{"PUT", "/kv/big", "PUT /kv/big HTTP/1.1\r\nHost: x\r\n" + auth + "Content-Length: 1000000\r\n\r\n" + strings.Repeat("b", 16<<10), 413},
	} {
		r := dialRaw(t, a)
		r.write(tc.request)
		t.Logf("%s %s, to be refused with %d", tc.method, tc.path, tc.status)
		resp, got := r.response(10 * time.Second)
		if resp.StatusCode != tc.status {
			t.Fatalf("%s %s: %d %s, want %d", tc.method, tc.path, resp.StatusCode, got, tc.status)
		}
		if ok, saw := r.closed(3 * time.Second); !ok {
			t.Errorf("%s %s: connection not closed after %d: %s", tc.method, tc.path, tc.status, saw)
		}
		s.checkRaw(t, tc.method, tc.path, resp, got)
	}
}

// openAPIOverloaded: one stalled body of the largest size fills what
// clients may hold; the next body is refused.
func openAPIOverloaded(t *testing.T, s *specChecker, a, token string, read []string) {
	largest := 1000 + clientBodyMargin
	stalled := dialRaw(t, a)
	stalled.write(fmt.Sprintf("PUT /kv/slow HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n%s",
		token, largest, strings.Repeat("s", 16<<10)))
	want := fmt.Sprintf("dynkv_inflight_bytes %d\n", largest)
	eventually(t, 5*time.Second, "the stalled write to be admitted", func() bool {
		return strings.Contains(string(do(t, "GET", a, "/metrics", nil, read...).body), want)
	})
	r := dialRaw(t, a)
	r.write("PUT /kv/more HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token + "\r\nContent-Length: 5\r\n\r\nmore!")
	resp, got := r.response(5 * time.Second)
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("PUT while full: %d %s, want 503", resp.StatusCode, got)
	}
	s.checkRaw(t, "PUT", "/kv/more", resp, got)
	stalled.c.Close()
	eventually(t, 5*time.Second, "the stalled write's bytes to be released", func() bool {
		return strings.Contains(string(do(t, "GET", a, "/metrics", nil, read...).body), "dynkv_inflight_bytes 0\n")
	})
}

// openAPIFullDisk: a node below its free-space floor refuses writes with
// 507 and says so; a request whose body never comes times out (408).
func openAPIFullDisk(t *testing.T, s *specChecker) {
	dir := testutil.TempDir(t)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	floor := fullFloor(t, dir)
	c := startCluster(t, LocalClusterOptions{Nodes: 1, HTTP: true, Dir: dir, Configure: func(_ int, cfg *Config) {
		cfg.Ring.N, cfg.R, cfg.W = 1, 1, 1
		cfg.MinFreeDiskBytes = floor
		// The read timeout is RequestTimeout plus 5 s: what the 408 costs.
		cfg.RequestTimeout = 100 * time.Millisecond
	}})
	a := c.Addr(0)
	silent := dialRaw(t, a)
	silent.write("PUT /kv/silent HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n")
	s.call(t, 507, "PUT", a, "/kv/k", []byte("v"), "Content-Type", "text/plain")
	s.call(t, 507, "DELETE", a, "/kv/k", nil)
	s.call(t, 404, "GET", a, "/kv/k", nil)
	if res := s.call(t, 200, "GET", a, "/healthz", nil); !strings.Contains(string(res.body), `"below_floor":true`) {
		t.Errorf("healthz of a full node: %s", res.body)
	}
	s.call(t, 200, "GET", a, "/cluster/status", nil)
	resp, got := silent.response(30 * time.Second)
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Fatalf("PUT whose body never came: %d %s, want 408", resp.StatusCode, got)
	}
	s.checkRaw(t, "PUT", "/kv/silent", resp, got)
}

// openAPIKeyring: the keyring routes on one node gossiping with
// encryption (real serf on loopback).
func openAPIKeyring(t *testing.T, s *specChecker) {
	oldKey, _ := randomGossipKey(t)
	newKey, _ := randomGossipKey(t)
	dir := t.TempDir()
	c := startCluster(t, LocalClusterOptions{Nodes: 1, HTTP: true, Gossip: true, Configure: func(i int, cfg *Config) {
		manualLoops(i, cfg)
		cfg.Ring.N, cfg.R, cfg.W = 1, 1, 1
		cfg.GossipKeyringFile = filepath.Join(dir, NodeID(i)+".keyring")
		if err := os.WriteFile(cfg.GossipKeyringFile, []byte(`["`+oldKey+`"]`), 0o600); err != nil {
			t.Fatal(err)
		}
	}})
	a := c.Addr(0)
	js := []string{"Content-Type", "application/json"}
	keyBody := func(k string) []byte { return []byte(`{"key":"` + k + `"}`) }
	s.call(t, 200, "GET", a, "/admin/keyring", nil)
	s.call(t, 200, "POST", a, "/admin/keyring/install", keyBody(newKey), js...)
	s.call(t, 200, "POST", a, "/admin/keyring/use", keyBody(newKey), js...)
	s.call(t, 200, "POST", a, "/admin/keyring/remove", keyBody(oldKey), js...)
	// Serf refuses to remove the key in use, and says which members did.
	s.call(t, 502, "POST", a, "/admin/keyring/remove", keyBody(newKey), js...)
	s.call(t, 400, "POST", a, "/admin/keyring/install", keyBody("not base64!"), js...)
	s.call(t, 413, "POST", a, "/admin/keyring/use", keyBody(strings.Repeat("A", 5000)), js...)
	s.call(t, 200, "GET", a, "/admin/keyring", nil)
}
