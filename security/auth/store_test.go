package auth

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// writeFile writes a tokens file of entries into a temporary directory.
func writeFile(t *testing.T, path string, entries ...Entry) {
	t.Helper()
	if err := os.WriteFile(path, FormatTokensFile(entries), 0o600); err != nil {
		t.Fatal(err)
	}
}

func mustToken(t *testing.T) string {
	t.Helper()
	tok, err := NewToken()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestStoreLookupAndReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens")
	alice, bob, carol := mustToken(t), mustToken(t), mustToken(t)
	writeFile(t, path,
		Entry{Name: "alice", Role: RoleAdmin, Hash: HashToken(alice)},
		Entry{Name: "bob", Role: RoleRead, Hash: HashToken(bob)})
	s, err := OpenStore(path)
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 2 {
		t.Fatalf("Len %d", s.Len())
	}
	for tok, want := range map[string]struct {
		name string
		role Role
	}{alice: {"alice", RoleAdmin}, bob: {"bob", RoleRead}} {
		name, role, ok := s.Lookup(tok)
		if !ok || name != want.name || role != want.role {
			t.Errorf("Lookup: %q %v %v, want %v", name, role, ok, want)
		}
	}
	for _, wrong := range []string{carol, "", alice + "x", alice[:len(alice)-1]} {
		if name, _, ok := s.Lookup(wrong); ok {
			t.Errorf("wrong token found %q", name)
		}
	}

	// A new token appears on Reload.
	writeFile(t, path,
		Entry{Name: "alice", Role: RoleAdmin, Hash: HashToken(alice)},
		Entry{Name: "carol", Role: RoleWrite, Hash: HashToken(carol)})
	if _, _, ok := s.Lookup(carol); ok {
		t.Fatal("carol known before Reload")
	}
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	if name, role, ok := s.Lookup(carol); !ok || name != "carol" || role != RoleWrite {
		t.Errorf("carol after Reload: %q %v %v", name, role, ok)
	}
	if _, _, ok := s.Lookup(bob); ok {
		t.Error("bob still known after Reload dropped him")
	}

	// A broken file keeps the entries, and so does a missing one.
	if err := os.WriteFile(path, []byte("alice admin sha256:nothex\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.Reload(); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Fatalf("Reload of a broken file: %v", err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := s.Reload(); err == nil {
		t.Fatal("Reload of a missing file succeeded")
	}
	if _, _, ok := s.Lookup(carol); !ok || s.Len() != 2 {
		t.Error("failed Reloads dropped the previous entries")
	}
}

func TestOpenStoreErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := OpenStore(filepath.Join(dir, "missing")); err == nil {
		t.Error("opened a missing file")
	}
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, make([]byte, MaxFileSize+10), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenStore(big); err == nil || !strings.Contains(err.Error(), "over the limit") {
		t.Errorf("oversized file: %v", err)
	}
	var nilStore *Store
	if _, _, ok := nilStore.Lookup("x"); ok || nilStore.Len() != 0 {
		t.Error("nil store knows a token")
	}
}

// TestStoreConcurrent runs lookups while reloading, for the race detector.
func TestStoreConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens")
	tok := mustToken(t)
	writeFile(t, path, Entry{Name: "a", Role: RoleRead, Hash: HashToken(tok)})
	s, err := OpenStore(path)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 200 {
				if _, _, ok := s.Lookup(tok); !ok {
					t.Error("token lost during reloads")
					return
				}
			}
		})
	}
	for range 20 {
		if err := s.Reload(); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
}
