package node

import (
	"errors"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestGracefulShutdownDrains: a stopping node stays reachable for its drain
// period, alive but not ready, refusing new requests with 503
// shutting_down (which clients retry elsewhere), and only then closes its
// listener.
func TestGracefulShutdownDrains(t *testing.T) {
	c := startCluster(t, LocalClusterOptions{Nodes: 3, HTTP: true, Configure: func(i int, cfg *Config) {
		if i == 0 {
			cfg.ShutdownDrain = time.Minute // ended by the test: Close returns when the drain is over
		}
	}})
	addr, stopping := c.Addr(0), c.Node(0)
	if r := do(t, http.MethodPut, addr, "/kv/before", []byte("v")); r.status != http.StatusNoContent && r.status != http.StatusOK {
		t.Fatalf("PUT before shutdown: %d %s", r.status, r.body)
	}
	if r := do(t, http.MethodGet, addr, "/readyz", nil); r.status != http.StatusOK {
		t.Fatalf("/readyz before shutdown: %d", r.status)
	}
	closed := make(chan error, 1)
	go func() { closed <- c.Stop(0) }()
	eventually(t, 5*time.Second, "node draining", func() bool {
		return stopping.closing.Load()
	})
	for _, path := range []string{"/healthz", "/readyz"} {
		r := do(t, http.MethodGet, addr, path, nil)
		if r.status != http.StatusServiceUnavailable || !strings.Contains(string(r.body), CodeShuttingDown) {
			t.Errorf("%s while draining: %d %s; want 503 shutting_down", path, r.status, r.body)
		}
	}
	if r := do(t, http.MethodGet, addr, "/livez", nil); r.status != http.StatusOK || !strings.Contains(string(r.body), `"draining":true`) {
		t.Errorf("/livez while draining: %d %s; want 200, draining", r.status, r.body)
	}
	r := do(t, http.MethodPut, addr, "/kv/during", []byte("v"))
	if r.status != http.StatusServiceUnavailable || !strings.Contains(string(r.body), CodeShuttingDown) {
		t.Errorf("PUT while draining: %d %s; want 503 shutting_down", r.status, r.body)
	}
	if r := do(t, http.MethodGet, c.Addr(1), "/kv/during", nil); r.status != http.StatusNotFound {
		t.Errorf("the refused write is readable elsewhere: %d %s", r.status, r.body)
	}
	stopping.endDrain()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatalf("stop: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("stop did not return after the drain was cut short")
	}
	_, err := httpClient.Get("http://" + addr + "/livez")
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("after shutdown: %v; want connection refused", err)
	}
}
