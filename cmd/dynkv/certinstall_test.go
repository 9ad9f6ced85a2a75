package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The files of `dynkv cert create-cluster`, flattened as the Kubernetes
// Secret of deploy/kubernetes/README.md holds them, install as one node's.
func TestCertInstallNode(t *testing.T) {
	made, secret, node := t.TempDir(), t.TempDir(), t.TempDir()
	mustCLI(t, nil, "cert", "create-cluster", "--certs-dir", made, "--nodes", "dynkv-0,dynkv-1")
	flat := map[string]string{"ca.crt": "ca.crt", "gossip.keys": "dynkv-0/gossip.keys",
		"dynkv-0.crt": "dynkv-0/node.crt", "dynkv-0.key": "dynkv-0/node.key", "dynkv-1.crt": "dynkv-1/node.crt", "dynkv-1.key": "dynkv-1/node.key"}
	for dst, src := range flat {
		b, err := os.ReadFile(filepath.Join(made, src))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(secret, dst), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	certs, keys := filepath.Join(node, "secure"), filepath.Join(node, "gossip.keys")
	out := mustCLI(t, nil, "cert", "install-node", "dynkv-1", "--from", secret, "--certs-dir", certs, "--gossip-key-file", keys)
	if !strings.Contains(out, "the gossip keyring in") {
		t.Errorf("first install: %q", out)
	}
	for _, f := range []string{"secure/ca.crt", "secure/node.crt", "secure/node.key", "gossip.keys"} {
		st, err := os.Stat(filepath.Join(node, f))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, %v; want mode 0600", f, st, err)
		}
	}
	same := func(a, b string) bool {
		x, _ := os.ReadFile(a)
		y, _ := os.ReadFile(b)
		return len(x) > 0 && string(x) == string(y)
	}
	if !same(filepath.Join(certs, "node.crt"), filepath.Join(made, "dynkv-1/node.crt")) || !same(keys, filepath.Join(made, "dynkv-0/gossip.keys")) {
		t.Error("installed files differ from the cluster's")
	}

	// A later start keeps the node's keyring (a rotation may have changed it).
	if err := os.WriteFile(keys, []byte(`["rotated"]`), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := mustCLI(t, nil, "cert", "install-node", "dynkv-1", "--from", secret, "--certs-dir", certs, "--gossip-key-file", keys); !strings.Contains(out, "kept the node's keyring") {
		t.Errorf("second install: %q", out)
	}
	if b, _ := os.ReadFile(keys); string(b) != `["rotated"]` {
		t.Errorf("the node's keyring was replaced: %q", b)
	}

	// A certificate of another node is refused.
	if err := os.Rename(filepath.Join(secret, "dynkv-0.crt"), filepath.Join(secret, "dynkv-9.crt")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(secret, "dynkv-0.key"), filepath.Join(secret, "dynkv-9.key")); err != nil {
		t.Fatal(err)
	}
	r := cli(t, "", nil, "cert", "install-node", "dynkv-9", "--from", secret, "--certs-dir", certs)
	if r.code != 1 || !strings.Contains(r.stderr, `names node "dynkv-0", not "dynkv-9"`) {
		t.Errorf("another node's certificate: exit %d, %q", r.code, r.stderr)
	}
	if !same(filepath.Join(certs, "node.crt"), filepath.Join(made, "dynkv-1/node.crt")) {
		t.Error("a refused install changed the installed certificate")
	}
	if r := cli(t, "", nil, "cert", "install-node", "dynkv-1", "--certs-dir", certs); r.code != 2 || !strings.Contains(r.stderr, "--from is required") {
		t.Errorf("no --from: exit %d, %q", r.code, r.stderr)
	}
}
