package transport

import (
	"context"
	"crypto/tls"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dynkv/dynkv/node/internal/wire"
	"github.com/dynkv/dynkv/security/pki"
)

// testPKI makes a CA in dir with node certificates for ids, each in a
// directory of its own, and returns their reloaders by id.
func testPKI(t *testing.T, dir string, ids ...string) map[string]*pki.Reloader {
	t.Helper()
	if err := pki.CreateCA(dir, false); err != nil {
		t.Fatal(err)
	}
	out := map[string]*pki.Reloader{}
	for _, id := range ids {
		nd := filepath.Join(dir, id)
		if _, err := pki.CreateNodeIn(dir, nd, id, nil, false); err != nil {
			t.Fatal(err)
		}
		r, err := pki.NewReloader(filepath.Join(nd, pki.NodeCertFile), filepath.Join(nd, pki.NodeKeyFile), filepath.Join(nd, pki.CAFile))
		if err != nil {
			t.Fatal(err)
		}
		out[id] = r
	}
	return out
}

func tlsServerConfig(r *pki.Reloader) FramedServerConfig {
	cfg := testServerConfig()
	cfg.TLS = r.ServerConfig(true)
	cfg.Authenticate = func(cs tls.ConnectionState) error { _, err := pki.PeerNodeID(cs); return err }
	return cfg
}

func tlsTransport(r *pki.Reloader) *FramedTransport {
	return NewFramedTransport(FramedConfig{ConnectTimeout: time.Second, IdleTimeout: time.Minute,
		MaxPending: 1024, MaxFrame: 1 << 20, TLS: r.ClientConfig})
}

// Peers with certificates of the cluster CA talk; a caller without TLS,
// with another CA's certificate, or with a client certificate is refused
// before its frame reaches the handler, and a server that is not the node
// expected is refused by the caller.
func TestFramedMutualTLS(t *testing.T) {
	dir := t.TempDir()
	nodes := testPKI(t, dir, "n1", "n2", "n3")
	strangers := testPKI(t, t.TempDir(), "n1")
	if err := pki.CreateClient(dir, "alice", false); err != nil {
		t.Fatal(err)
	}
	var handled atomic.Int64
	counting := handlerFunc(func(_ context.Context, _ wire.Op, body []byte) ([]byte, error) {
		handled.Add(1)
		return body, nil
	})
	p := startFramedPeer(t, "", counting, tlsServerConfig(nodes["n2"]))

	n1 := tlsTransport(nodes["n1"])
	defer n1.Close()
	if got, err := n1.Call(t.Context(), "n2", p.addr, wire.OpRead, []byte("hello")); err != nil || string(got) != "hello" {
		t.Fatalf("n1 -> n2 over mutual TLS: %q %v", got, err)
	}
	if handled.Load() != 1 {
		t.Fatalf("handled %d calls; want 1", handled.Load())
	}

	alice, err := tls.LoadX509KeyPair(filepath.Join(dir, pki.ClientCertFile("alice")), filepath.Join(dir, pki.ClientKeyFile("alice")))
	if err != nil {
		t.Fatal(err)
	}
	client := NewFramedTransport(FramedConfig{ConnectTimeout: time.Second, IdleTimeout: time.Minute, MaxPending: 16, MaxFrame: 1 << 20,
		TLS: func(string) *tls.Config {
			// Trusts any server: the point is what the server makes of a
			// client certificate of the cluster's own CA.
			return &tls.Config{Certificates: []tls.Certificate{alice}, InsecureSkipVerify: true, MinVersion: tls.VersionTLS13}
		}})
	for _, tc := range []struct {
		name, expect string
		tr           Transport
	}{
		{"no TLS", "n2", newTestFramed(nil)},
		{"another CA's n1", "n2", tlsTransport(strangers["n1"])},
		{"a client certificate of the cluster CA", "n2", client},
		{"n2 answering where n3 is expected", "n3", n1},
	} {
		if _, err := tc.tr.Call(t.Context(), tc.expect, p.addr, wire.OpRead, []byte("hello")); err == nil {
			t.Errorf("%s: call answered; want it refused", tc.name)
		}
		tc.tr.Close()
	}
	if handled.Load() != 1 {
		t.Fatalf("refused callers reached the handler: %d calls handled; want 1", handled.Load())
	}
}
