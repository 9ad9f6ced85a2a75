package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	sdk "github.com/dynkv/dynkv/client"
)

// secureCluster is a secured cluster's files, made with the CLI as an
// operator would: a CA, each node's certificates and gossip keyring in a
// directory of its own, and a tokens file.
type secureCluster struct {
	dir                string
	ca                 string // the CA certificate clients trust
	tokens             string // the tokens file
	admin, write, read string // tokens
}

// mustCLI runs the dynkv binary (cli) and fails the test unless it exits
// 0; it returns stdout.
func mustCLI(t *testing.T, env []string, args ...string) string {
	t.Helper()
	r := cli(t, "", env, args...)
	if r.code != 0 {
		t.Fatalf("dynkv %s: exit %d: %s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r.stdout
}

func makeSecureCluster(t *testing.T, ids ...string) *secureCluster {
	t.Helper()
	dir := t.TempDir()
	s := &secureCluster{dir: dir, ca: filepath.Join(dir, "ca", "ca.crt"), tokens: filepath.Join(dir, "tokens")}
	mustCLI(t, nil, "cert", "create-ca", "--certs-dir", filepath.Join(dir, "ca"))
	key := filepath.Join(dir, "gossip.keys")
	mustCLI(t, nil, "keyring", "generate", "--file", key)
	keyring, err := os.ReadFile(key)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		out := filepath.Join(dir, id)
		mustCLI(t, nil, "cert", "create-node", id, "--certs-dir", filepath.Join(dir, "ca"), "--out-dir", out)
		// Each node's keyring is its own file: serf rewrites it on rotation.
		if err := os.WriteFile(filepath.Join(out, "gossip.keys"), keyring, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for role, p := range map[string]*string{"admin": &s.admin, "write": &s.write, "read": &s.read} {
		*p = strings.TrimSpace(mustCLI(t, nil, "token", "create", role+"-user", "--role", role, "--tokens-file", s.tokens))
	}
	return s
}

// serveArgs are the flags that secure node id.
func (s *secureCluster) serveArgs(id string) []string {
	return []string{"--certs-dir", filepath.Join(s.dir, id), "--gossip-key-file", filepath.Join(s.dir, id, "gossip.keys"), "--tokens-file", s.tokens}
}

func (s *secureCluster) client(t *testing.T, token string, nodes ...*serveNode) *sdk.Client {
	t.Helper()
	tlsCfg, err := sdk.LoadTLSConfig(s.ca, "", "")
	if err != nil {
		t.Fatal(err)
	}
	var eps []string
	for _, n := range nodes {
		eps = append(eps, n.url)
	}
	c, err := sdk.New(eps, sdk.WithTLS(tlsCfg), sdk.WithToken(token))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// startSecureServeCluster starts three secured serve processes; their URLs
// are https.
func startSecureServeCluster(t *testing.T, s *secureCluster) []*serveNode {
	t.Helper()
	ports := freePorts(t, 6)
	var nodes []*serveNode
	for i, id := range []string{"n1", "n2", "n3"} {
		extra := s.serveArgs(id)
		if i > 0 {
			extra = append(extra, "--join", nodes[0].gossip)
		}
		n := newServeNode(t, s.dir, id, ports[2*i], ports[2*i+1], extra...)
		n.url = strings.Replace(n.url, "http://", "https://", 1)
		nodes = append(nodes, n)
		n.start(t)
		if i == 0 {
			waitSDKMembers(t, s.client(t, s.read, n), map[string]string{"n1": "alive"})
		}
	}
	return nodes
}

// waitSDKMembers waits until the client's node sees exactly want.
func waitSDKMembers(t *testing.T, c *sdk.Client, want map[string]string) {
	t.Helper()
	waitFor(t, "members "+strings.Join(slices.Sorted(mapKeys(want)), ","), func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		ms, err := c.Members(ctx)
		if err != nil {
			return false, err.Error()
		}
		got := map[string]string{}
		for _, m := range ms {
			got[m.ID] = string(m.Status)
		}
		for id, st := range want {
			if got[id] != st {
				return false, strings.Join(slices.Sorted(mapKeys(got)), ",")
			}
		}
		return len(got) == len(want), ""
	})
}

func mapKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// TestServeSecureCluster runs three secured serve processes and puts them
// through what the plain cluster does: quorum writes and reads, siblings,
// kill -9 and restart with hinted handoff, the CLI, loadtest --verify and
// leave (admin only);
// a node of another CA without the gossip key never joins, and a read
// token cannot write.
func TestServeSecureCluster(t *testing.T) {
	t.Parallel()
	s := makeSecureCluster(t, "n1", "n2", "n3")
	nodes := startSecureServeCluster(t, s)
	all := map[string]string{"n1": "alive", "n2": "alive", "n3": "alive"}
	writer := s.client(t, s.write, nodes...)
	waitSDKMembers(t, s.client(t, s.read, nodes[2]), all)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	if _, err := writer.Put(ctx, "k1", []byte("v1"), sdk.CausalContext{}); err != nil {
		t.Fatalf("put over TLS with a write token: %v", err)
	}
	for _, n := range nodes {
		res, err := s.client(t, s.read, n).Get(ctx, "k1")
		if err != nil || len(res.Siblings) != 1 || string(res.Siblings[0].Value) != "v1" {
			t.Fatalf("get k1 from %s: %+v %v", n.id, res, err)
		}
	}
	// Two blind writes are concurrent: both stay, as siblings.
	for _, v := range []string{"a", "b"} {
		if _, err := writer.Put(ctx, "cart", []byte(v), sdk.CausalContext{}); err != nil {
			t.Fatal(err)
		}
	}
	if res, err := writer.Get(ctx, "cart"); err != nil || len(res.Siblings) != 2 {
		t.Fatalf("siblings of cart: %+v %v", res, err)
	}
	if _, err := s.client(t, s.read, nodes...).Put(ctx, "k1", []byte("x"), sdk.CausalContext{}); err == nil {
		t.Fatal("a read token wrote")
	}

	// kill -9 n3, write while it is down, restart it: hints bring it the write.
	nodes[2].p.signal(t, syscall.SIGKILL)
	nodes[2].p.wait(t)
	if _, err := writer.Put(ctx, "while-down", []byte("v"), sdk.CausalContext{}); err != nil {
		t.Fatalf("put with n3 down: %v", err)
	}
	nodes[2].start(t)
	waitSDKMembers(t, s.client(t, s.read, nodes[0]), all)
	waitFor(t, "n3 to hold the write it missed", func() (bool, string) {
		code, body := s.adminGet(t, nodes[2].url+"/admin/local/while-down")
		return code == http.StatusOK && strings.Contains(body, `"deleted":false`), body
	})

	// The CLI, with the CA and token from the environment.
	env := []string{"DYNKV_CA_CERT=" + s.ca, "DYNKV_TOKEN=" + s.read}
	if out := mustCLI(t, env, "get", "--endpoints", nodes[1].url, "k1"); !strings.Contains(out, "v1") {
		t.Fatalf("dynkv get over TLS: %q", out)
	}
	mustCLI(t, []string{"DYNKV_CA_CERT=" + s.ca, "DYNKV_TOKEN=" + s.write},
		"loadtest", "--endpoints", nodes[0].url, "--duration", "2s", "--keys", "200", "--concurrency", "4", "--verify")

	// A stranger with its own CA and no gossip key never becomes a member.
	other := makeSecureCluster(t, "n4")
	ports := freePorts(t, 2)
	stranger := newServeNode(t, other.dir, "n4", ports[0], ports[1], append(other.serveArgs("n4"), "--join", nodes[0].gossip)...)
	stranger.start(t)
	waitFor(t, "the stranger's join to be refused", func() (bool, string) {
		out := stranger.p.stderr.String()
		return strings.Contains(out, "could not reach any seed"), tail(out, 500)
	})
	waitSDKMembers(t, s.client(t, s.read, nodes[0]), all)

	// Leave needs the admin role.
	if _, err := writer.Leave(ctx, "n3"); !errors.Is(err, sdk.ErrForbidden) {
		t.Fatalf("leave with a write token: %v; want ErrForbidden", err)
	}
	if _, err := s.client(t, s.admin, nodes[2]).Leave(ctx, "n3"); err != nil {
		t.Fatalf("leave with the admin token: %v", err)
	}
	waitFor(t, "n3 to leave", func() (bool, string) {
		return nodes[2].p.exited() || leftOrGone(ctx, s.client(t, s.read, nodes[0]), "n3"), ""
	})
	if res, err := writer.Get(ctx, "while-down"); err != nil || len(res.Siblings) != 1 {
		t.Fatalf("after n3 left: %+v %v", res, err)
	}
}

// leftOrGone reports whether node has left the cluster as c sees it.
func leftOrGone(ctx context.Context, c *sdk.Client, node string) bool {
	ms, err := c.Members(ctx)
	if err != nil {
		return false
	}
	for _, m := range ms {
		if m.ID == node {
			return m.Status == sdk.StatusLeft
		}
	}
	return true
}

// adminGet GETs url with the admin token, trusting the cluster CA.
func (s *secureCluster) adminGet(t *testing.T, url string) (int, string) {
	t.Helper()
	tlsCfg, err := sdk.LoadTLSConfig(s.ca, "", "")
	if err != nil {
		t.Fatal(err)
	}
	cl := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsCfg}}
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+s.admin)
	res, err := cl.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestSecureRotationUnderLoad rotates every secret of a secured cluster
// while a verifying load runs against it: every node's certificate
// (reissued, then SIGHUP), the tokens file (a token added, another revoked,
// SIGHUP) and the gossip key (install, use, remove). The load must see no
// failed request and lose no acknowledged write.
func TestSecureRotationUnderLoad(t *testing.T) {
	t.Parallel()
	s := makeSecureCluster(t, "n1", "n2", "n3")
	nodes := startSecureServeCluster(t, s)
	all := map[string]string{"n1": "alive", "n2": "alive", "n3": "alive"}
	for _, n := range nodes {
		waitSDKMembers(t, s.client(t, s.read, n), all)
	}
	var eps []string
	for _, n := range nodes {
		eps = append(eps, n.url)
	}
	load := startProc(t, "loadtest", []string{"DYNKV_CA_CERT=" + s.ca, "DYNKV_TOKEN=" + s.write},
		"loadtest", "--endpoints", strings.Join(eps, ","), "--duration", "20s", "--keys", "500", "--concurrency", "8",
		"--rate", "400", "--verify", "--json")
	env := []string{"DYNKV_CA_CERT=" + s.ca, "DYNKV_TOKEN=" + s.admin}
	reloads := 0
	hup := func() {
		reloads++
		for _, n := range nodes {
			n.p.signal(t, syscall.SIGHUP)
		}
		for _, n := range nodes {
			waitFor(t, n.id+" to reload", func() (bool, string) {
				out := n.p.stderr.String()
				if strings.Contains(out, "reload on SIGHUP failed") {
					t.Fatalf("%s: %s", n.id, tail(out, 1000))
				}
				return strings.Count(out, "reloaded certificates and tokens on SIGHUP") >= reloads, ""
			})
		}
	}
	// Certificates: each node's reissued from the same CA.
	for _, n := range nodes {
		mustCLI(t, nil, "cert", "create-node", n.id, "--certs-dir", filepath.Join(s.dir, "ca"), "--out-dir", filepath.Join(s.dir, n.id), "--overwrite")
	}
	hup()
	// Tokens: a new one in, the read token out; the load's token stays.
	fresh := strings.TrimSpace(mustCLI(t, nil, "token", "create", "fresh", "--role", "read", "--tokens-file", s.tokens))
	mustCLI(t, nil, "token", "revoke", "read-user", "--tokens-file", s.tokens)
	hup()
	waitFor(t, "the new token to work and the revoked one to fail on every node", func() (bool, string) {
		for _, n := range nodes {
			if _, err := s.client(t, fresh, n).Members(t.Context()); err != nil {
				return false, n.id + ": " + err.Error()
			}
			if _, err := s.client(t, s.read, n).Members(t.Context()); !errors.Is(err, sdk.ErrUnauthenticated) {
				return false, n.id + " still takes the revoked token"
			}
		}
		return true, ""
	})
	// The gossip key: install, use, remove the old one.
	old := readGossipKey(t, filepath.Join(s.dir, "n1", "gossip.keys"))
	next := strings.TrimSpace(mustCLI(t, nil, "keyring", "generate"))
	for _, step := range [][]string{{"install", next}, {"use", next}, {"remove", old}} {
		mustCLI(t, env, "keyring", step[0], step[1], "--endpoints", nodes[0].url)
	}
	waitSDKMembers(t, s.client(t, fresh, nodes[0]), all)

	if code := load.wait(t); code != 0 {
		t.Fatalf("loadtest exited %d:\n%s", code, tail(load.stderr.String(), 3000))
	}
	checkNothingFailedOrLost(t, load.stdout.String())
}

// readGossipKey is the only key of a keyring file.
func readGossipKey(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	if err := json.Unmarshal(b, &keys); err != nil || len(keys) != 1 {
		t.Fatalf("%s: %d keys, %v", path, len(keys), err)
	}
	return keys[0]
}

// checkNothingFailedOrLost reads a loadtest --verify --json report and fails
// the test on any failed request or lost write.
func checkNothingFailedOrLost(t *testing.T, report string) {
	t.Helper()
	b := []byte(report)
	var rep struct {
		Run struct {
			Ops, Errors int64
		}
		Verify *struct {
			Acknowledged int64 `json:"writes_acknowledged"`
			Lost         int64
		}
	}
	if err := json.Unmarshal(b, &rep); err != nil || rep.Verify == nil {
		t.Fatalf("report: %v: %s", err, b)
	}
	if rep.Run.Errors != 0 || rep.Verify.Lost != 0 || rep.Verify.Acknowledged == 0 {
		t.Fatalf("under rotation: %d ops, %d failed, %d acknowledged writes, %d lost; want none failed or lost",
			rep.Run.Ops, rep.Run.Errors, rep.Verify.Acknowledged, rep.Verify.Lost)
	}
	t.Logf("%d ops, %d acknowledged writes verified", rep.Run.Ops, rep.Verify.Acknowledged)
}
