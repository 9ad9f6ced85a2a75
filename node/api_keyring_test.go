package node

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/dynkv/dynkv/client"
	"github.com/dynkv/dynkv/node/membership"
)

func keyringCall(n *Node, method, path, body string) (int, string) {
	var rc fasthttp.RequestCtx
	rc.Request.Header.SetMethod(method)
	rc.Request.SetRequestURI(path)
	rc.Request.SetBodyString(body)
	n.serveKeyring(&rc, method, path)
	return rc.Response.StatusCode(), string(rc.Response.Body())
}

func randomGossipKey(t *testing.T) (b64, fingerprint string) {
	t.Helper()
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(k), membership.KeyFingerprint(k)
}

func listKeyring(t *testing.T, n *Node) keyringJSON {
	t.Helper()
	status, body := keyringCall(n, "GET", "/admin/keyring", "")
	if status != 200 {
		t.Fatalf("GET /admin/keyring: %d %s", status, body)
	}
	var out keyringJSON
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// The keyring routes rotate a real gossip cluster's key, report keys by
// fingerprint only, and refuse malformed requests with 400s.
func TestKeyringAPI(t *testing.T) {
	oldKey, oldFP := randomGossipKey(t)
	newKey, newFP := randomGossipKey(t)
	dir := t.TempDir()
	c := startCluster(t, LocalClusterOptions{Nodes: 2, Gossip: true, Configure: func(i int, cfg *Config) {
		manualLoops(i, cfg)
		cfg.GossipKeyringFile = filepath.Join(dir, NodeID(i)+".keyring")
		if err := os.WriteFile(cfg.GossipKeyringFile, []byte(`["`+oldKey+`"]`), 0o600); err != nil {
			t.Fatal(err)
		}
	}})
	eventually(t, 15*time.Second, "both nodes see each other alive", func() bool {
		return statusOf(c.Node(0), "n2") == membership.StatusAlive && statusOf(c.Node(1), "n1") == membership.StatusAlive
	})
	n := c.Node(0)
	if got := listKeyring(t, n); len(got.Keys) != 1 || got.Keys[0] != (gossipKeyJSON{oldFP, 2, 2}) || got.Answered != 2 {
		t.Fatalf("keyring %+v, want the old key on 2 nodes", got)
	}
	for _, step := range []struct{ op, key string }{{"install", newKey}, {"use", newKey}, {"remove", oldKey}} {
		status, body := keyringCall(n, "POST", "/admin/keyring/"+step.op, `{"key": "`+step.key+`"}`)
		if status != 200 || strings.Contains(body, step.key) {
			t.Fatalf("%s: %d %s", step.op, status, body)
		}
	}
	got := listKeyring(t, c.Node(1))
	if len(got.Keys) != 1 || got.Keys[0] != (gossipKeyJSON{newFP, 2, 2}) {
		t.Fatalf("keyring after rotation %+v, want the new key alone", got)
	}
	status, body := keyringCall(n, "POST", "/admin/keyring/remove", `{"key": "`+newKey+`"}`)
	if status != 502 || !strings.Contains(body, CodeKeyringIncomplete) || !strings.Contains(body, "n1, n2") || strings.Contains(body, newKey) {
		t.Fatalf("removing the primary key: %d %s, want 502 naming n1 and n2", status, body)
	}

	short := base64.StdEncoding.EncodeToString([]byte("sixteen?"))
	for _, tc := range []struct {
		method, path, body string
		status             int
	}{
		{"POST", "/admin/keyring/install", `{"key": "not base64!"}`, 400},
		{"POST", "/admin/keyring/install", `{"key": "` + short + `"}`, 400},
		{"POST", "/admin/keyring/install", `{"key": `, 400},
		{"POST", "/admin/keyring/install", `{"key": "` + newKey + `", "extra": 1}`, 400},
		{"POST", "/admin/keyring/use", `{}`, 400},
		{"POST", "/admin/keyring/use", `{"key": "` + strings.Repeat("A", 5000) + `"}`, 413},
		{"GET", "/admin/keyring/install", "", 405},
		{"POST", "/admin/keyring", "", 405},
		{"POST", "/admin/keyring/rotate", "", 404},
	} {
		status, body := keyringCall(n, tc.method, tc.path, tc.body)
		if status != tc.status || !strings.Contains(body, `"code"`) || strings.Contains(body, newKey) {
			t.Fatalf("%s %s %.40q: %d %s, want %d", tc.method, tc.path, tc.body, status, body, tc.status)
		}
	}
}

// A node gossiping in the clear (or with no gossip at all) answers 409.
func TestKeyringAPINotEncrypted(t *testing.T) {
	for _, gossip := range []bool{false, true} {
		c := startCluster(t, LocalClusterOptions{Nodes: 1, Gossip: gossip, Configure: manualLoops})
		key, _ := randomGossipKey(t)
		for _, r := range [][3]string{{"GET", "/admin/keyring", ""}, {"POST", "/admin/keyring/install", `{"key": "` + key + `"}`}} {
			status, body := keyringCall(c.Node(0), r[0], r[1], r[2])
			if status != 409 || !strings.Contains(body, CodeGossipNotEncrypted) {
				t.Fatalf("gossip=%v %s %s: %d %s, want 409 %s", gossip, r[0], r[1], status, body, CodeGossipNotEncrypted)
			}
		}
	}
}

// serveWithKeyring serves n's API on loopback with the keyring routes
// added, as api.go's router will (it is not edited here).
func serveWithKeyring(t *testing.T, n *Node) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: func(rc *fasthttp.RequestCtx) {
		path := string(rc.URI().PathOriginal())
		if strings.HasPrefix(path, "/admin/keyring") {
			n.serveKeyring(rc, string(rc.Method()), path)
			return
		}
		n.ServeHTTP(rc)
	}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln)
	}()
	t.Cleanup(func() {
		srv.Shutdown()
		<-done
	})
	return "http://" + ln.Addr().String()
}

// The SDK's keyring calls drive the routes: a rotation, a change some
// members refuse (named in the error), and ErrGossipNotEncrypted.
func TestKeyringSDK(t *testing.T) {
	oldKey, _ := randomGossipKey(t)
	newKey, newFP := randomGossipKey(t)
	dir := t.TempDir()
	c := startCluster(t, LocalClusterOptions{Nodes: 2, Gossip: true, Configure: func(i int, cfg *Config) {
		manualLoops(i, cfg)
		cfg.GossipKeyringFile = filepath.Join(dir, NodeID(i)+".keyring")
		if err := os.WriteFile(cfg.GossipKeyringFile, []byte(`["`+oldKey+`"]`), 0o600); err != nil {
			t.Fatal(err)
		}
	}})
	eventually(t, 15*time.Second, "both nodes see each other alive", func() bool {
		return statusOf(c.Node(0), "n2") == membership.StatusAlive && statusOf(c.Node(1), "n1") == membership.StatusAlive
	})
	cl, err := client.New([]string{serveWithKeyring(t, c.Node(0))})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx := t.Context()
	for _, step := range []struct {
		name string
		call func(context.Context, string) error
		key  string
	}{{"install", cl.InstallGossipKey, newKey}, {"use", cl.UseGossipKey, newKey}, {"remove", cl.RemoveGossipKey, oldKey}} {
		if err := step.call(ctx, step.key); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
	}
	st, err := cl.Keyring(ctx)
	if err != nil || st.Node != "n1" || len(st.Keys) != 1 || st.Keys[0] != (client.GossipKey{Fingerprint: newFP, Nodes: 2, PrimaryNodes: 2}) {
		t.Fatalf("keyring %+v %v, want the new key alone on both nodes", st, err)
	}
	err = cl.RemoveGossipKey(ctx, newKey)
	var ae *client.APIError
	if !errors.As(err, &ae) || ae.Code != client.CodeKeyringIncomplete || !strings.Contains(err.Error(), "n1, n2") || strings.Contains(err.Error(), newKey) {
		t.Fatalf("removing the primary key: %v, want keyring_incomplete naming n1 and n2", err)
	}
	if err := cl.InstallGossipKey(ctx, "c2hvcnQ="); !errors.Is(err, client.ErrBadRequest) {
		t.Fatalf("a short key: %v, want ErrBadRequest before sending", err)
	}

	clear := startCluster(t, LocalClusterOptions{Nodes: 1, Configure: manualLoops})
	cl2, err := client.New([]string{serveWithKeyring(t, clear.Node(0))})
	if err != nil {
		t.Fatal(err)
	}
	defer cl2.Close()
	if _, err := cl2.Keyring(ctx); !errors.Is(err, client.ErrGossipNotEncrypted) {
		t.Fatalf("keyring of a clear-text cluster: %v", err)
	}
	if err := cl2.UseGossipKey(ctx, newKey); !errors.Is(err, client.ErrGossipNotEncrypted) {
		t.Fatalf("use on a clear-text cluster: %v", err)
	}
}
