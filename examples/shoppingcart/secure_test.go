package main

import (
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dynkv/dynkv/client"
	"github.com/dynkv/dynkv/node"
	"github.com/dynkv/dynkv/security/auth"
	"github.com/dynkv/dynkv/security/pki"
)

// testSecurity secures the test cluster as docs/SECURITY.md describes:
// node certificates of a CA made for the test, and a write token for the
// shop.
type testSecurity struct {
	dir    string
	peers  []*pki.Reloader
	tokens *auth.Store
	token  string // the shop's, write
	admin  string // the test's, for /admin/local
}

func newTestSecurity(t *testing.T, nodes int) *testSecurity {
	t.Helper()
	s := &testSecurity{dir: t.TempDir()}
	if err := pki.CreateCA(s.dir, false); err != nil {
		t.Fatal(err)
	}
	for i := range nodes {
		id := node.NodeID(i)
		out := filepath.Join(s.dir, id)
		if _, err := pki.CreateNodeIn(s.dir, out, id, nil, false); err != nil {
			t.Fatal(err)
		}
		r, err := pki.NewReloader(filepath.Join(out, pki.NodeCertFile), filepath.Join(out, pki.NodeKeyFile), filepath.Join(out, pki.CAFile))
		if err != nil {
			t.Fatal(err)
		}
		s.peers = append(s.peers, r)
	}
	tokens := filepath.Join(s.dir, "tokens")
	var err error
	if s.token, err = auth.CreateToken(tokens, "shop", auth.RoleWrite); err != nil {
		t.Fatal(err)
	}
	if s.admin, err = auth.CreateToken(tokens, "test", auth.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	if s.tokens, err = auth.OpenStore(tokens); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *testSecurity) node(i int) node.Security {
	return node.Security{PeerTLS: s.peers[i], ClientTLS: s.peers[i].ServerConfig(false), Tokens: s.tokens}
}

// clientOptions are the shop's: trust the CA, send the token.
func (s *testSecurity) clientOptions(t *testing.T) []client.Option {
	t.Helper()
	cfg, err := client.LoadTLSConfig(filepath.Join(s.dir, pki.CAFile), "", "")
	if err != nil {
		t.Fatal(err)
	}
	return []client.Option{client.WithTLS(cfg), client.WithToken(s.token)}
}

// adminClient trusts the CA and sends the admin token.
func (s *testSecurity) adminClient(t *testing.T) *http.Client {
	t.Helper()
	cfg, err := client.LoadTLSConfig(filepath.Join(s.dir, pki.CAFile), "", "")
	if err != nil {
		t.Fatal(err)
	}
	rt, err := client.TokenTransport(s.admin, &http.Transport{TLSClientConfig: cfg})
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Timeout: 5 * time.Second, Transport: rt}
}

// TestShopWithoutAdminToken: on a secured cluster the shop's write token
// cannot set the carts bucket's props; the shop says so in its log, goes
// on with the bucket's props (no TTL: the page says carts do not expire),
// and keeps carts in the bucket.
func TestShopWithoutAdminToken(t *testing.T) {
	t.Parallel()
	ts := startShopWith(t, newTestSecurity(t, 3))
	if log := ts.log.String(); !strings.Contains(log, "needs an admin token") || !strings.Contains(log, "level=WARN") {
		t.Errorf("the shop's log does not warn that it needs an admin token:\n%s", log)
	}
	p := ts.open(t, "secured")
	p.change("add", "mug")
	if !slices.Equal(p.items(), []string{"mug"}) {
		t.Errorf("the cart after an add: %v", p.items())
	}
	if got, err := localCart(ts, cartKey("secured")); err != nil || !slices.Equal(got, []string{"mug"}) {
		t.Errorf("n1's copy of the cart in the carts bucket: %v, %v", got, err)
	}
	if text := ts.shopExpiry(); text != "Carts do not expire." {
		t.Errorf("the page says %q about expiry", text)
	}
}
