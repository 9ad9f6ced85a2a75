package membership

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func newGossipKey(t *testing.T) string {
	t.Helper()
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(k)
}

// writeKeyringFile writes keys as serf's keyring file, mode 0600, in a
// directory of its own.
func writeKeyringFile(t *testing.T, keys ...string) string {
	t.Helper()
	b, err := json.Marshal(keys)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "keyring.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func keyringFileKeys(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	if err := json.Unmarshal(b, &keys); err != nil {
		t.Fatalf("keyring file %s: %v", path, err)
	}
	return keys
}

// startGossip starts a member on a free loopback port; the local profile's
// timing is gentle enough for a loaded machine not to fail a member.
func startGossip(t *testing.T, id, keyringFile string, join ...string) *SerfMembership {
	t.Helper()
	return startGossipAt(t, id, "127.0.0.1:0", keyringFile, join...)
}

// startGossipAt is startGossip on the address bind.
func startGossipAt(t *testing.T, id, bind, keyringFile string, join ...string) *SerfMembership {
	t.Helper()
	m, err := NewSerfMembership(SerfConfig{NodeID: id, BindAddr: bind, Join: join, Profile: "local", KeyringFile: keyringFile, Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(Member{ID: id, HTTPAddr: "127.0.0.1:1"}, func() {}); err != nil {
		t.Fatalf("start %s: %v", id, err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// joinWithin bounds a join on loopback. It takes well under a second on a
// quiet machine; the bound is for a loaded one (the whole test suite on two
// cores), where a first join attempt can time out and the retry waits.
const joinWithin = 30 * time.Second

func waitUntil(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", within, what)
		}
		<-tick.C
	}
}

func aliveIDs(m *SerfMembership) []string {
	var ids []string
	for _, mem := range m.Members() {
		if mem.Status == StatusAlive {
			ids = append(ids, mem.ID)
		}
	}
	slices.Sort(ids)
	return ids
}

func knows(m *SerfMembership, id string) bool {
	return slices.ContainsFunc(m.Members(), func(mem Member) bool { return mem.ID == id })
}

// refusedJoin checks that stranger cannot join through seed and that no
// member ever lists it, for a while.
func refusedJoin(t *testing.T, stranger *SerfMembership, seed string, members ...*SerfMembership) {
	t.Helper()
	if _, err := stranger.serf.Join([]string{seed}, true); err == nil {
		t.Fatalf("%s joined without the cluster's key", stranger.cfg.NodeID)
	}
	deadline := time.Now().Add(2 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for time.Now().Before(deadline) {
		for _, m := range members {
			if knows(m, stranger.cfg.NodeID) {
				t.Fatalf("%s lists %s, which has no key of the cluster", m.cfg.NodeID, stranger.cfg.NodeID)
			}
		}
		if len(stranger.Members()) != 1 {
			t.Fatalf("%s sees %v", stranger.cfg.NodeID, stranger.Members())
		}
		<-tick.C
	}
}

// Members sharing a key join; a node with no key, or another key, cannot.
func TestKeyringAdmitsOnlyKeyHolders(t *testing.T) {
	key := newGossipKey(t)
	a := startGossip(t, "a", writeKeyringFile(t, key))
	b := startGossip(t, "b", writeKeyringFile(t, key), a.GossipAddr())
	waitUntil(t, joinWithin, "a and b alive in both views", func() bool {
		return slices.Equal(aliveIDs(a), []string{"a", "b"}) && slices.Equal(aliveIDs(b), []string{"a", "b"})
	})
	refusedJoin(t, startGossip(t, "clear", ""), a.GossipAddr(), a, b)
	refusedJoin(t, startGossip(t, "other", writeKeyringFile(t, newGossipKey(t))), a.GossipAddr(), a, b)
}

// watchFailures records every member that any of ms sees failed or left,
// until the returned stop is called.
func watchFailures(ms ...*SerfMembership) (stop func() []string) {
	var (
		mu   sync.Mutex
		seen []string
		done = make(chan struct{})
		wg   sync.WaitGroup
	)
	wg.Go(func() {
		tick := time.NewTicker(25 * time.Millisecond)
		defer tick.Stop()
		for {
			for _, m := range ms {
				for _, mem := range m.Members() {
					if mem.Status == StatusFailed || mem.Status == StatusLeft {
						mu.Lock()
						seen = append(seen, m.cfg.NodeID+" saw "+mem.ID+" "+string(mem.Status))
						mu.Unlock()
					}
				}
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	})
	return func() []string {
		close(done)
		wg.Wait()
		return seen
	}
}

// A key is rotated without downtime: install the new key everywhere, use
// it, remove the old one. No member fails meanwhile, the keyring files end
// up holding the new key only, and then only the new key admits a node.
func TestKeyringRotation(t *testing.T) {
	oldKey, newKey := newGossipKey(t), newGossipKey(t)
	files := []string{writeKeyringFile(t, oldKey), writeKeyringFile(t, oldKey), writeKeyringFile(t, oldKey)}
	a := startGossip(t, "a", files[0])
	b := startGossip(t, "b", files[1], a.GossipAddr())
	c := startGossip(t, "c", files[2], a.GossipAddr())
	members := []*SerfMembership{a, b, c}
	waitUntil(t, joinWithin, "3 members alive in every view", func() bool {
		for _, m := range members {
			if len(aliveIDs(m)) != 3 {
				return false
			}
		}
		return true
	})
	stop := watchFailures(members...)
	ctx := t.Context()
	if _, err := b.InstallKey(ctx, newKey); err != nil {
		t.Fatalf("install: %v", err)
	}
	st, err := c.ListKeys(ctx)
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	oldFP, newFP := fingerprintOf(t, oldKey), fingerprintOf(t, newKey)
	if st.Keys[oldFP] != 3 || st.Keys[newFP] != 3 || st.PrimaryKeys[oldFP] != 3 || st.Answered != 3 {
		t.Fatalf("after install: %+v, want both keys on 3 nodes, the old one primary", st)
	}
	if _, err := a.RemoveKey(ctx, oldKey); err == nil || !strings.Contains(err.Error(), "a, b, c") {
		t.Fatalf("removing the primary key: %v, want refused by a, b, c", err)
	}
	if _, err := a.UseKey(ctx, newKey); err != nil {
		t.Fatalf("use: %v", err)
	}
	if _, err := c.RemoveKey(ctx, oldKey); err != nil {
		t.Fatalf("remove: %v", err)
	}
	if st, err = a.ListKeys(ctx); err != nil || len(st.Keys) != 1 || st.Keys[newFP] != 3 || st.PrimaryKeys[newFP] != 3 {
		t.Fatalf("after rotation: %+v %v, want the new key alone, primary on 3 nodes", st, err)
	}
	for _, f := range files {
		if got := keyringFileKeys(t, f); !slices.Equal(got, []string{newKey}) {
			t.Fatalf("%s holds %d keys, want the new key alone", f, len(got))
		}
	}
	refusedJoin(t, startGossip(t, "stale", writeKeyringFile(t, oldKey)), a.GossipAddr(), members...)
	d := startGossip(t, "d", writeKeyringFile(t, newKey), c.GossipAddr())
	waitUntil(t, joinWithin, "d, holding the new key, joins", func() bool {
		return len(aliveIDs(a)) == 4 && len(aliveIDs(d)) == 4
	})
	if seen := stop(); len(seen) > 0 {
		t.Fatalf("members failed during the rotation: %v", seen)
	}
}

func fingerprintOf(t *testing.T, b64 string) string {
	t.Helper()
	k, err := DecodeGossipKey(b64)
	if err != nil {
		t.Fatal(err)
	}
	return KeyFingerprint(k)
}

// Without a keyring the key calls say so, and bad keys are refused before
// anything is sent.
func TestKeyringNotEncrypted(t *testing.T) {
	m := startGossip(t, "clear", "")
	if _, err := m.ListKeys(t.Context()); !errors.Is(err, ErrGossipNotEncrypted) {
		t.Fatalf("list without a keyring: %v", err)
	}
	if _, err := m.InstallKey(t.Context(), newGossipKey(t)); !errors.Is(err, ErrGossipNotEncrypted) {
		t.Fatalf("install without a keyring: %v", err)
	}
	enc := startGossip(t, "enc", writeKeyringFile(t, newGossipKey(t)))
	short := base64.StdEncoding.EncodeToString([]byte("0123456789"))
	for _, bad := range []string{"not base64!", short} {
		if _, err := enc.InstallKey(t.Context(), bad); err == nil || strings.Contains(err.Error(), bad) {
			t.Fatalf("install %q: %v, want refused without quoting the key", bad, err)
		}
	}
}

// A keyring file that is missing, empty, malformed or readable by others
// stops Start with an error naming the file and never quoting a key.
func TestKeyringFileRefused(t *testing.T) {
	secret := newGossipKey(t)
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // umask aside
			t.Fatal(err)
		}
		return p
	}
	short := base64.StdEncoding.EncodeToString([]byte("short"))
	cases := map[string]struct{ path, want string }{
		"missing":   {filepath.Join(dir, "absent.json"), "no such file"},
		"empty":     {write("empty.json", "", 0o600), "not a JSON array"},
		"no keys":   {write("none.json", "[]", 0o600), "holds no keys"},
		"not json":  {write("bad.json", secret, 0o600), "not a JSON array"},
		"bad key":   {write("b64.json", `["`+secret+`", "%%%"]`, 0o600), "key 2: gossip key is not valid base64"},
		"short key": {write("short.json", `["`+short+`"]`, 0o600), "key 1: gossip key is 5 bytes"},
		"readable":  {write("open.json", `["`+secret+`"]`, 0o644), "mode 0644: group and others must have no access"},
	}
	for name, tc := range cases {
		m, err := NewSerfMembership(SerfConfig{NodeID: "x", BindAddr: "127.0.0.1:0", KeyringFile: tc.path, Logger: quietLog()})
		if err != nil {
			t.Fatal(err)
		}
		err = m.Start(Member{ID: "x", HTTPAddr: "127.0.0.1:1"}, func() {})
		if err == nil {
			m.Close()
			t.Fatalf("%s: Start accepted %s", name, tc.path)
		}
		msg := err.Error()
		if !strings.Contains(msg, tc.path) || !strings.Contains(msg, tc.want) || strings.Contains(msg, secret) {
			t.Fatalf("%s: %q, want it to name %s and say %q, without the key", name, msg, tc.path, tc.want)
		}
	}
}
