package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

func TestLocalTarget(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"0.0.0.0:8080", "127.0.0.1:8080"},
		{":8080", "127.0.0.1:8080"},
		{"[::]:8080", "[::1]:8080"},
		{"10.1.2.3:9000", "10.1.2.3:9000"},
		{"n1:8080", "n1:8080"},
	} {
		if got, err := localTarget(tc.in); err != nil || got != tc.want {
			t.Errorf("localTarget(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"8080", "host:", "host:0", ""} {
		if _, err := localTarget(bad); err == nil {
			t.Errorf("localTarget(%q): no error", bad)
		}
	}
}

func TestHealthcheck(t *testing.T) {
	var status atomic.Int32
	status.Store(http.StatusOK)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/livez" {
			w.Write([]byte(`{"status":"alive","node":"n1","draining":true}`))
			return
		}
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(int(status.Load()))
		w.Write([]byte(`{"status":"ok","node":"n1"}`))
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	check := func(env map[string]string, args ...string) (int, string) {
		var out bytes.Buffer
		code := run(append([]string{"healthcheck"}, args...), strings.NewReader(""), &out, &out, envMap(env))
		return code, out.String()
	}

	if code, out := check(nil, "--http-addr", addr); code != 0 || !strings.Contains(out, "healthy") {
		t.Errorf("healthy node: exit %d, %q", code, out)
	}
	// The address comes from serve's own variable, as in a container.
	if code, out := check(map[string]string{"DYNKV_HTTP_ADDR": addr}); code != 0 {
		t.Errorf("DYNKV_HTTP_ADDR: exit %d, %q", code, out)
	}
	status.Store(http.StatusServiceUnavailable)
	if code, out := check(nil, "--http-addr", addr); code != 1 || !strings.Contains(out, "503") {
		t.Errorf("shutting-down node: exit %d, %q; want 1 naming the 503", code, out)
	}
	if code, out := check(nil, "--http-addr", addr, "--live"); code != 0 || !strings.Contains(out, "draining") {
		t.Errorf("--live on a draining node: exit %d, %q; want 0", code, out)
	}
	srv.Close()
	if code, out := check(nil, "--http-addr", addr); code != 1 || !strings.Contains(out, "unhealthy") {
		t.Errorf("no node: exit %d, %q; want 1", code, out)
	}
	if code, _ := check(nil, "--http-addr", "nonsense"); code != 2 {
		t.Errorf("bad address: exit %d, want 2", code)
	}
	if code, out := check(nil, "--help"); code != 0 || !strings.Contains(out, "DYNKV_HTTP_ADDR") {
		t.Errorf("--help: exit %d, %q", code, out)
	}
}

// With serve's DYNKV_CERTS_DIR in the environment, the check speaks TLS.
func TestHealthcheckTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"status":"ok","node":"n1"}`))
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "https://")
	var out bytes.Buffer
	env := envMap(map[string]string{"DYNKV_HTTP_ADDR": addr, "DYNKV_CERTS_DIR": "/certs"})
	if code := run([]string{"healthcheck"}, strings.NewReader(""), &out, &out, env); code != 0 {
		t.Fatalf("TLS node with DYNKV_CERTS_DIR: exit %d, %q", code, out.String())
	}
	out.Reset()
	if code := run([]string{"healthcheck", "--http-addr", addr}, strings.NewReader(""), &out, &out, envMap(nil)); code != 1 {
		t.Fatalf("TLS node probed in plain HTTP: exit %d, %q; want 1", code, out.String())
	}
}
