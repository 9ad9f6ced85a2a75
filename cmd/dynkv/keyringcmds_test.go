package main

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dynkv/dynkv/node"
	"github.com/dynkv/dynkv/node/membership"
)

func decode32(t *testing.T, b64 string) []byte {
	t.Helper()
	k, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(k) != 32 {
		t.Fatalf("%q is not a base64 32-byte key (%d bytes, %v)", b64, len(k), err)
	}
	return k
}

// generate prints a fresh 32-byte key, or writes it as a new keyring file
// (mode 0600, never replacing one) that a node can start with.
func TestKeyringGenerate(t *testing.T) {
	t.Parallel()
	a, b := runTokenCmd(nil, "keyring", "generate"), runTokenCmd(nil, "keyring", "generate")
	if a.code != 0 || b.code != 0 || a.stdout == b.stdout || !strings.HasSuffix(a.stdout, "\n") {
		t.Fatalf("generate: %d %q / %d %q", a.code, a.stdout, b.code, b.stdout)
	}
	decode32(t, strings.TrimSpace(a.stdout))

	file := filepath.Join(t.TempDir(), "gossip.keyring")
	r := runTokenCmd(nil, "keyring", "generate", "--file", file)
	if r.code != 0 {
		t.Fatalf("generate --file: %d %q %q", r.code, r.stdout, r.stderr)
	}
	fi, err := os.Stat(file)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("keyring file: %v, mode %v; want 0600", err, fi.Mode())
	}
	written, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	if err := json.Unmarshal(written, &keys); err != nil || len(keys) != 1 {
		t.Fatalf("keyring file %q: want a JSON array of one key (%v)", written, err)
	}
	key := decode32(t, keys[0])
	if strings.Contains(r.stdout+r.stderr, keys[0]) || !strings.Contains(r.stdout, membership.KeyFingerprint(key)) {
		t.Fatalf("generate --file printed %q %q: want the fingerprint, not the key", r.stdout, r.stderr)
	}
	if r := runTokenCmd(nil, "keyring", "generate", "--file", file); r.code != 1 || !strings.Contains(r.stderr, "exists") {
		t.Fatalf("generate over an existing file: %d %q", r.code, r.stderr)
	}
	if again, _ := os.ReadFile(file); string(again) != string(written) {
		t.Fatal("generate replaced an existing keyring file")
	}

	// A node starts with it, and the key file reader takes it too.
	m, err := membership.NewSerfMembership(membership.SerfConfig{NodeID: "k1", BindAddr: "127.0.0.1:0", KeyringFile: file})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(membership.Member{ID: "k1", HTTPAddr: "127.0.0.1:1"}, func() {}); err != nil {
		t.Fatalf("a node cannot start with the generated keyring: %v", err)
	}
	m.Close()
	if got, err := keyArgument(nil, file); err != nil || got != keys[0] {
		t.Fatalf("--key-file of a keyring file: %v", err)
	}
}

// KEY comes from the command line or --key-file, never both; a bad key is
// bad usage, refused without quoting it.
func TestKeyringKeyArgument(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	key := strings.TrimSpace(runTokenCmd(nil, "keyring", "generate").stdout)
	plain := filepath.Join(dir, "key")
	if err := os.WriteFile(plain, []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := keyArgument(nil, plain); err != nil || got != key {
		t.Fatalf("--key-file of a bare key: %v", err)
	}
	two := filepath.Join(dir, "two")
	if err := os.WriteFile(two, []byte(`["`+key+`", "`+key+`"]`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := keyArgument(nil, two); err == nil || strings.Contains(err.Error(), key) {
		t.Fatalf("a keyring of two keys: %v", err)
	}
	for _, args := range [][]string{
		{"keyring", "install"},
		{"keyring", "use", key, "--key-file", plain},
		{"keyring", "remove", "Zm9vYmFyYmF6cXV1eA=="},
		{"keyring", "install", "secret-not-base64"},
		{"keyring", "rotate"},
	} {
		r := runTokenCmd(nil, args...)
		if r.code != 2 || strings.Contains(r.stderr, "secret-not") || strings.Contains(r.stderr, "Zm9vYmFy") {
			t.Fatalf("%v: %d %q, want usage error 2 without the key", args, r.code, r.stderr)
		}
	}
}

// --gossip-key-file reaches the node's configuration.
func TestKeyringGossipFlag(t *testing.T) {
	t.Parallel()
	var g gossipFlags
	f := newFlags("test", "")
	g.register(f)
	if err := f.parse([]string{"--gossip-key-file", "/etc/dynkv/gossip.keyring"}, envMap(nil)); err != nil {
		t.Fatal(err)
	}
	var nc node.Config
	g.apply(&nc)
	if nc.GossipKeyringFile != "/etc/dynkv/gossip.keyring" {
		t.Fatalf("GossipKeyringFile %q", nc.GossipKeyringFile)
	}
}
