package node

import (
	"context"
	"crypto/tls"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/dynkv/dynkv/node/internal/testutil"
	"github.com/dynkv/dynkv/node/internal/wire"
	"github.com/dynkv/dynkv/node/transport"
	"github.com/dynkv/dynkv/security/auth"
	"github.com/dynkv/dynkv/security/pki"
	"github.com/dynkv/dynkv/vclock"
)

// securePKI makes a CA in dir and a node certificate directory for each of
// the first nodes local-cluster nodes, returning their reloaders.
func securePKI(t *testing.T, dir string, nodes int) []*pki.Reloader {
	t.Helper()
	if err := pki.CreateCA(dir, false); err != nil {
		t.Fatal(err)
	}
	var rs []*pki.Reloader
	for i := range nodes {
		nd := filepath.Join(dir, NodeID(i))
		if _, err := pki.CreateNodeIn(dir, nd, NodeID(i), nil, false); err != nil {
			t.Fatal(err)
		}
		r, err := pki.NewReloader(filepath.Join(nd, pki.NodeCertFile), filepath.Join(nd, pki.NodeKeyFile), filepath.Join(nd, pki.CAFile))
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	return rs
}

// secureTokens writes a tokens file with one token per role.
func secureTokens(t *testing.T, dir string) (*auth.Store, map[auth.Role]string) {
	t.Helper()
	path := filepath.Join(dir, "tokens")
	tokens := map[auth.Role]string{}
	for _, r := range []auth.Role{auth.RoleRead, auth.RoleWrite, auth.RoleAdmin} {
		tok, err := auth.CreateToken(path, r.String()+"-user", r)
		if err != nil {
			t.Fatal(err)
		}
		tokens[r] = tok
	}
	s, err := auth.OpenStore(path)
	if err != nil {
		t.Fatal(err)
	}
	return s, tokens
}

func startSecureCluster(t *testing.T) (*LocalCluster, map[auth.Role]string) {
	dir := testutil.TempDir(t)
	peers := securePKI(t, filepath.Join(dir, "certs"), 3)
	store, tokens := secureTokens(t, dir)
	c := startCluster(t, LocalClusterOptions{Nodes: 3, HTTP: true, Configure: func(i int, c *Config) {
		c.Security = Security{PeerTLS: peers[i], Tokens: store}
	}})
	return c, tokens
}

func bearer(tok string) []string { return []string{"Authorization", "Bearer " + tok} }

// Every attack of an outsider on a secured cluster is refused, and none
// writes anything: internode write, read, merge and reap without TLS and
// with another CA's certificate; leave and remove without an admin token;
// a read token writing; no token at all.
func TestSecureClusterRefusesOutsiders(t *testing.T) {
	c, tokens := startSecureCluster(t)
	addr := c.Addr(0)
	if res := do(t, "PUT", addr, kvPath("k")+"?w=3", []byte("v1"), bearer(tokens[auth.RoleWrite])...); res.status != http.StatusNoContent {
		t.Fatalf("PUT with a write token over mutual TLS between peers: %d %s", res.status, res.body)
	}
	if res := do(t, "GET", addr, kvPath("k"), nil, bearer(tokens[auth.RoleRead])...); res.status != http.StatusOK || string(res.body) != "v1" {
		t.Fatalf("GET with a read token: %d %s", res.status, res.body)
	}

	strangerCA := securePKI(t, filepath.Join(testutil.TempDir(t), "certs"), 1)[0]
	for name, tr := range map[string]transport.Transport{
		"no TLS": transport.NewFramedTransport(transport.FramedConfig{ConnectTimeout: time.Second, IdleTimeout: time.Minute, MaxPending: 16, MaxFrame: 1 << 20}),
		"another CA's certificate": transport.NewFramedTransport(transport.FramedConfig{ConnectTimeout: time.Second, IdleTimeout: time.Minute,
			MaxPending: 16, MaxFrame: 1 << 20, TLS: strangerCA.ClientConfig}),
	} {
		write := wire.WriteRequest{Key: []byte("forged"), Value: []byte("x")}.Encode()
		merge := wire.EncodeMerge([]byte("k"), vclock.Set{}.AppendBinary(nil))
		for op, body := range map[wire.Op][]byte{
			wire.OpWrite: write, wire.OpRead: wire.ReadRequest{Key: []byte("k")}.Encode(), wire.OpMerge: merge, wire.OpReap: merge,
		} {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			out, err := tr.Call(ctx, "n1", c.Node(0).InternodeAddr(), op, body)
			cancel()
			if err == nil {
				t.Errorf("%s: internode %s answered (%d bytes); want it refused", name, op, len(out))
			}
		}
		tr.Close()
	}

	for _, tc := range []struct {
		name, method, path string
		auth               []string
		want               int
	}{
		{"PUT without a token", "PUT", kvPath("k"), nil, http.StatusUnauthorized},
		{"PUT with a made-up token", "PUT", kvPath("k"), bearer("dkv_" + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), http.StatusUnauthorized},
		{"PUT with a read token", "PUT", kvPath("k"), bearer(tokens[auth.RoleRead]), http.StatusForbidden},
		{"DELETE with a read token", "DELETE", kvPath("k"), bearer(tokens[auth.RoleRead]), http.StatusForbidden},
		{"GET without a token", "GET", kvPath("k"), nil, http.StatusUnauthorized},
		{"leave without a token", "POST", "/cluster/leave", nil, http.StatusUnauthorized},
		{"leave with a write token", "POST", "/cluster/leave", bearer(tokens[auth.RoleWrite]), http.StatusForbidden},
		{"remove with a write token", "POST", "/cluster/remove/n2", bearer(tokens[auth.RoleWrite]), http.StatusForbidden},
		{"raw replica state with a write token", "GET", "/admin/local/k", bearer(tokens[auth.RoleWrite]), http.StatusForbidden},
	} {
		res := do(t, tc.method, addr, tc.path, []byte("forged"), tc.auth...)
		if res.status != tc.want || res.header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: %d %q %s; want %d as JSON", tc.name, res.status, res.header.Get("Content-Type"), res.body, tc.want)
		}
	}

	for _, probe := range []string{"/livez", "/readyz", "/healthz"} {
		if res := do(t, "GET", addr, probe, nil); res.status != http.StatusOK {
			t.Errorf("GET %s without a token: %d; probes stay open", probe, res.status)
		}
	}
	for i := range 3 {
		n := c.Node(i)
		s, err := n.readLocal([]byte("k"))
		if err != nil || len(s.Live(0)) != 1 || string(s.Live(0)[0].Value) != "v1" {
			t.Errorf("%s holds k = %v, %v; want v1 alone", n.ID(), s, err)
		}
		if s, err := n.readLocal([]byte("forged")); err == nil && len(s.Siblings) > 0 {
			t.Errorf("%s took the forged internode write: %v", n.ID(), s)
		}
		if n.repair.Leaving() {
			t.Errorf("%s is leaving", n.ID())
		}
	}
}

// The client API over TLS: a client trusting the cluster CA reads and
// writes; one speaking plain HTTP gets no answer.
func TestClientTLS(t *testing.T) {
	dir := testutil.TempDir(t)
	peers := securePKI(t, filepath.Join(dir, "certs"), 1)
	c := startCluster(t, LocalClusterOptions{Nodes: 1, HTTP: true, Configure: func(i int, c *Config) {
		c.Ring.N, c.R, c.W = 1, 1, 1
		c.Security = Security{PeerTLS: peers[i], ClientTLS: peers[i].ServerConfig(false)}
	}})
	pool, err := pki.LoadCAPool(filepath.Join(dir, "certs", pki.CAFile))
	if err != nil {
		t.Fatal(err)
	}
	cl := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	base := "https://" + c.Addr(0)
	req, _ := http.NewRequest("PUT", base+kvPath("k"), nil)
	res, err := cl.Do(req)
	if err != nil || res.StatusCode != http.StatusNoContent {
		t.Fatalf("PUT over TLS: %v %v", res, err)
	}
	res.Body.Close()
	if res, err := httpClient.Get("http://" + c.Addr(0) + "/healthz"); err == nil {
		res.Body.Close()
		if res.StatusCode == http.StatusOK {
			t.Fatal("plain HTTP answered on a TLS port")
		}
	}
}
