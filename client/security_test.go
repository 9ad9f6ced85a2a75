package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/dynkv/dynkv/security/pki"
)

// testToken has the shape of a dynkv token; tests check it never shows.
const testToken = "dkv_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"

// writeCA writes the certificate of an httptest TLS server, its own CA, to
// a PEM file.
func writeCA(t *testing.T, s *httptest.Server) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ca.crt")
	pemData := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw})
	if err := os.WriteFile(path, pemData, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// newTLSFake is a fakeNode serving https, with its CA in a file.
func newTLSFake(t *testing.T, h http.HandlerFunc) (*fakeNode, string) {
	t.Helper()
	f := startFakeNode(t, h, startTLS)
	return f, writeCA(t, f.Server)
}

// startTLS starts s on https, without logging the handshakes that tests
// make fail.
func startTLS(s *httptest.Server) {
	s.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.StartTLS()
}

func loadTLS(t *testing.T, ca, cert, key string) *tls.Config {
	t.Helper()
	cfg, err := LoadTLSConfig(ca, cert, key)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestTLS reads over https, with the endpoint as a URL and bare, and
// reuses the connection (the stale-connection check peeks under TLS).
func TestTLS(t *testing.T) {
	t.Parallel()
	var conns atomic.Int64
	f := startFakeNode(t, ok, func(s *httptest.Server) {
		s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew {
				conns.Add(1)
			}
		}
		startTLS(s)
	})
	ca := writeCA(t, f.Server)
	cfg := loadTLS(t, ca, "", "")
	for _, ep := range []string{f.URL, strings.TrimPrefix(f.URL, "https://")} {
		c := newTestClient(t, []string{ep}, WithTLS(cfg))
		if got := c.Endpoints()[0]; got != f.URL {
			t.Errorf("endpoint %s is %s, want %s", ep, got, f.URL)
		}
		for range 5 {
			if _, err := c.Get(context.Background(), "k"); err != nil {
				t.Fatalf("Get over https from %s: %v", ep, err)
			}
		}
	}
	if n := conns.Load(); n != 2 {
		t.Errorf("%d connections for two clients, want 2 (keep-alive)", n)
	}
	if r, _ := f.lastRequest(); r.TLS == nil {
		t.Error("the request did not arrive over TLS")
	}
}

// TestTLSUntrusted: without WithTLS the client trusts only the system's
// roots, which do not hold the node's CA; nothing is sent, so even a write
// fails as unsent rather than ambiguous.
func TestTLSUntrusted(t *testing.T) {
	t.Parallel()
	f, _ := newTLSFake(t, ok)
	c := newTestClient(t, []string{f.URL}, WithMaxAttempts(2))
	_, err := c.Put(context.Background(), "k", []byte("v"), CausalContext{})
	var cv *tls.CertificateVerificationError
	if !errors.Is(err, ErrUnavailable) || !errors.As(err, &cv) || strings.Contains(err.Error(), "may have been applied") {
		t.Fatalf("Put to an untrusted node: %v; want ErrUnavailable with a certificate error, not ambiguous", err)
	}
	if n := f.hits.Load(); n != 0 {
		t.Errorf("the node served %d requests", n)
	}
}

// TestToken sends the bearer token exactly once per request, and a
// refusal names neither the token nor retries another endpoint.
func TestToken(t *testing.T) {
	t.Parallel()
	var auth atomic.Value
	f, ca := newTLSFake(t, func(w http.ResponseWriter, r *http.Request) {
		auth.Store(r.Header.Values("Authorization"))
		ok(w, r)
	})
	c := newTestClient(t, []string{f.URL}, WithTLS(loadTLS(t, ca, "", "")), WithToken(testToken))
	if _, err := c.Get(context.Background(), "k"); err != nil {
		t.Fatal(err)
	}
	if got := auth.Load().([]string); len(got) != 1 || got[0] != "Bearer "+testToken {
		t.Errorf("Authorization headers %q, want one: Bearer <token>", got)
	}

	for _, tc := range []struct {
		status int
		code   string
		want   error
	}{{http.StatusUnauthorized, CodeUnauthenticated, ErrUnauthenticated}, {http.StatusForbidden, CodeForbidden, ErrForbidden}} {
		a, b := newFakeNode(t, apiError(tc.status, tc.code, "")), newFakeNode(t, ok)
		c := newTestClient(t, []string{a.URL, b.URL}, WithToken(testToken))
		_, getErr := c.Get(context.Background(), "k")
		_, putErr := c.Put(context.Background(), "k", []byte("v"), CausalContext{})
		for _, err := range []error{getErr, putErr} {
			if !errors.Is(err, tc.want) || errors.Is(err, ErrUnavailable) {
				t.Errorf("%d answer: %v; want errors.Is %v", tc.status, err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), testToken) {
				t.Errorf("the error shows the token: %v", err)
			}
		}
		if a.hits.Load() != 2 || b.hits.Load() != 0 {
			t.Errorf("%d: hits %d and %d, want 2 and 0: a refusal is final", tc.status, a.hits.Load(), b.hits.Load())
		}
	}
}

// TestClientCert: a node that requires a client certificate signed by the
// cluster CA serves a client that has one and refuses one that has not,
// without the write looking ambiguous.
func TestClientCert(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, err := range []error{pki.CreateCA(dir, false), pki.CreateNode(dir, "n1", nil, false), pki.CreateClient(dir, "app", false)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	ca := filepath.Join(dir, pki.CAFile)
	nodeCert, err := tls.LoadX509KeyPair(filepath.Join(dir, pki.NodeCertFile), filepath.Join(dir, pki.NodeKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	pool, err := pki.LoadCAPool(ca)
	if err != nil {
		t.Fatal(err)
	}
	f := startFakeNode(t, ok, func(s *httptest.Server) {
		s.TLS = &tls.Config{Certificates: []tls.Certificate{nodeCert}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool, MinVersion: tls.VersionTLS13}
		startTLS(s)
	})

	with := newTestClient(t, []string{f.URL}, WithTLS(loadTLS(t, ca, filepath.Join(dir, pki.ClientCertFile("app")), filepath.Join(dir, pki.ClientKeyFile("app")))))
	if _, err := with.Put(context.Background(), "k", []byte("v"), CausalContext{}); err != nil {
		t.Fatalf("Put with a client certificate: %v", err)
	}
	without := newTestClient(t, []string{f.URL}, WithTLS(loadTLS(t, ca, "", "")), WithMaxAttempts(2))
	_, err = without.Put(context.Background(), "k", []byte("v"), CausalContext{})
	if err == nil || !errors.Is(err, ErrUnavailable) || strings.Contains(err.Error(), "may have been applied") {
		t.Fatalf("Put without a client certificate: %v; want a TLS refusal, not ambiguous", err)
	}
	if n := f.hits.Load(); n != 1 {
		t.Errorf("the node served %d requests, want 1", n)
	}
}

// TestSecurityOptions checks what New and LoadTLSConfig refuse, and that
// no refusal echoes a token.
func TestSecurityOptions(t *testing.T) {
	t.Parallel()
	f, ca := newTLSFake(t, ok)
	cfg := loadTLS(t, ca, "", "")
	notPEM := filepath.Join(t.TempDir(), "empty.crt")
	if err := os.WriteFile(notPEM, []byte("no certificates here\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := map[string]func() error{
		"empty token": func() error { _, err := New([]string{f.URL}, WithToken("")); return err },
		"token with a newline": func() error {
			_, err := New([]string{f.URL}, WithToken(testToken+"\r\nX-Evil: 1"))
			return err
		},
		"token with a space": func() error { _, err := New([]string{f.URL}, WithToken("dkv_ "+testToken)); return err },
		"WithTLS(nil)":       func() error { _, err := New([]string{f.URL}, WithTLS(nil)); return err },
		"WithTLS and WithTransport": func() error {
			_, err := New([]string{f.URL}, WithTransport(http.DefaultTransport), WithTLS(cfg))
			return err
		},
		"WithTLS and http://": func() error { _, err := New([]string{"http://127.0.0.1:1"}, WithTLS(cfg)); return err },
		"no CA file":          func() error { _, err := LoadTLSConfig("", "", ""); return err },
		"a CA file without certificates": func() error {
			_, err := LoadTLSConfig(notPEM, "", "")
			return err
		},
		"a certificate without its key": func() error { _, err := LoadTLSConfig(ca, ca, ""); return err },
	}
	for name, f := range bad {
		err := f()
		if err == nil {
			t.Errorf("%s: accepted", name)
		} else if strings.Contains(err.Error(), testToken) || strings.Contains(err.Error(), "dkv_") {
			t.Errorf("%s: the error shows the token: %v", name, err)
		}
	}
	if cfg.MinVersion != tls.VersionTLS12 || cfg.RootCAs == nil || len(cfg.Certificates) != 0 {
		t.Errorf("LoadTLSConfig(ca): MinVersion %x, RootCAs %v, %d certificates", cfg.MinVersion, cfg.RootCAs != nil, len(cfg.Certificates))
	}
	// WithTLS keeps a clone: a later change to the caller's config does
	// not reach the client.
	c := newTestClient(t, []string{f.URL}, WithTLS(cfg))
	cfg.RootCAs = x509.NewCertPool()
	if _, err := c.Get(context.Background(), "k"); err != nil {
		t.Errorf("Get after the caller changed its config: %v", err)
	}
}

func TestTokenTransport(t *testing.T) {
	const token = "dkv_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.Header.Get("Authorization") }))
	defer srv.Close()
	rt, err := TokenTransport(token, http.DefaultTransport)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	res, err := (&http.Client{Transport: rt}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if got != "Bearer "+token || req.Header.Get("Authorization") != "" {
		t.Fatalf("server saw %q; caller's request changed: %q", got, req.Header.Get("Authorization"))
	}
	if _, err := TokenTransport("bad token", http.DefaultTransport); err == nil || strings.Contains(err.Error(), "bad token") {
		t.Fatalf("a token with a space: %v; want an error that does not echo it", err)
	}
}
