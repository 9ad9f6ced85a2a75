package auth

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCreateRevokeList(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tokens")
	alice, err := CreateToken(path, "alice", RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	bob, err := CreateToken(path, "bob", RoleRead)
	if err != nil {
		t.Fatal(err)
	}
	if !wellFormed(alice) || !wellFormed(bob) || alice == bob {
		t.Fatalf("tokens %q %q", alice, bob)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), alice[4:]) || strings.Contains(string(data), bob[4:]) {
		t.Fatal("the file holds a token")
	}

	entries, err := ListTokens(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 || entries[0] != (Entry{"alice", RoleAdmin, HashToken(alice)}) ||
		entries[1] != (Entry{"bob", RoleRead, HashToken(bob)}) {
		t.Fatalf("entries %+v", entries)
	}
	s, err := OpenStore(path)
	if err != nil {
		t.Fatal(err)
	}
	if name, role, ok := s.Lookup(bob); !ok || name != "bob" || role != RoleRead {
		t.Errorf("bob: %q %v %v", name, role, ok)
	}

	if _, err := CreateToken(path, "alice", RoleRead); err == nil || !strings.Contains(err.Error(), "already has a token") {
		t.Errorf("duplicate create: %v", err)
	}
	if err := RevokeToken(path, "alice"); err != nil {
		t.Fatal(err)
	}
	if err := RevokeToken(path, "alice"); err == nil || !strings.Contains(err.Error(), "has no token") {
		t.Errorf("revoking twice: %v", err)
	}
	if err := RevokeToken(path, alice); err == nil || strings.Contains(err.Error(), alice[4:]) {
		t.Errorf("revoking a token instead of a name: %v", err)
	}
	entries, err = ListTokens(path)
	if err != nil || len(entries) != 1 || entries[0].Name != "bob" {
		t.Fatalf("after revoke: %+v, %v", entries, err)
	}
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := s.Lookup(alice); ok {
		t.Error("revoked token still known after Reload")
	}
	// No temporary files are left behind.
	names, _ := filepath.Glob(filepath.Join(dir, "*"))
	hidden, _ := filepath.Glob(filepath.Join(dir, ".*"))
	if len(names) != 1 || len(hidden) != 0 {
		t.Errorf("directory holds %v %v", names, hidden)
	}
}

func TestCreateTokenErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tokens")
	if _, err := CreateToken(path, "bad name", RoleRead); err == nil {
		t.Error("bad name accepted")
	}
	if _, err := CreateToken(path, "a", Role(0)); err == nil {
		t.Error("zero role accepted")
	}
	if _, err := CreateToken(path, "a", Role(9)); err == nil {
		t.Error("role 9 accepted")
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Error("failed creates made the file")
	}
	// A broken file is left alone.
	broken := []byte("alice admin sha256:zz\n")
	if err := os.WriteFile(path, broken, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := CreateToken(path, "bob", RoleRead); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("create over a broken file: %v", err)
	}
	if data, _ := os.ReadFile(path); string(data) != string(broken) {
		t.Error("create rewrote a broken file")
	}
	if _, err := CreateToken(filepath.Join(dir, "no", "such", "dir"), "a", RoleRead); err == nil {
		t.Error("created in a missing directory")
	}
	if err := RevokeToken(filepath.Join(dir, "missing"), "a"); err == nil {
		t.Error("revoked from a missing file")
	}
	if _, err := ListTokens(filepath.Join(dir, "missing")); err == nil {
		t.Error("listed a missing file")
	}
}
