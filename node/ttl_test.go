package node

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

// docs/GUARANTEES.md, "Expiry": a value written with a TTL reads as absent
// from every node once it expires, and no stale copy brings it back — not a
// replica that was cut off, not a hint delivered late, not anti-entropy —
// and the reaper reclaims it from every replica's store after the grace.
func TestTTLExpiresEverywhere(t *testing.T) {
	clock := newSimClock(4)
	c := startSimCluster(t, 4, true, clock, func(cfg *Config) { cfg.TombstoneGrace = time.Hour })
	key, pref := keyOwnedBy(t, c.Node(0), "n1")
	owner := c.Node(0)
	// A replica that misses the TTL write holds the older, non-expiring
	// value; another misses it too and gets it by a hint instead.
	if _, err := owner.Put(t.Context(), WriteRequest{Key: key, Value: []byte("forever"), W: 3}); err != nil {
		t.Fatal(err)
	}
	read, err := owner.Get(t.Context(), key, 3)
	if err != nil {
		t.Fatal(err)
	}
	stale, hinted := pref[2], pref[1]
	c.Net.Isolate(stale)
	c.Net.Isolate(hinted)
	if _, err := owner.Put(t.Context(), WriteRequest{Key: key, Context: read.Set.Context, Value: []byte("brief"), TTL: 2 * time.Second, W: 2}); err != nil {
		t.Fatalf("TTL write: %v", err)
	}
	for i := range 4 {
		if id := NodeID(i); id == stale || id == hinted {
			continue
		}
		if st, vals, _ := readValues(t, c.Addr(i), string(key), "?r=1"); st != http.StatusOK || len(vals) != 1 || vals[0] != "brief" {
			t.Fatalf("%s before expiry: %d %q", NodeID(i), st, vals)
		}
	}
	clock.advance(3 * time.Second)
	c.Net.Heal()
	// Two of the three replicas still hold the older value: only a read
	// of all three is sure to see the expired version that supersedes it.
	expectExpired(t, c, key, "?r=all")
	// The late hint and anti-entropy deliver the expired version, which
	// supersedes the stale one and stays unreadable.
	settle(t, c, 10*time.Second, "every replica holds the expired version", func() bool {
		for _, id := range pref {
			s, err := c.Node(indexOf(id)).readLocal(key)
			if err != nil || len(s.Siblings) != 1 || string(s.Siblings[0].Value) != "brief" {
				return false
			}
		}
		return true
	})
	expectExpired(t, c, key, "?r=1")

	// A read repair still in flight would bring the expired version back
	// to a replica after it was reaped (harmless: the next pass reaps it).
	quiesce(t, c, clock)
	clock.advance(2 * time.Hour)
	if st, err := owner.ReapTombstonesOnce(t.Context()); err != nil || st.Reaped != 1 {
		t.Fatalf("expired value not reaped after the grace: %+v %v", st, err)
	}
	for _, id := range pref {
		if s, err := c.Node(indexOf(id)).readLocal(key); err != nil || !s.IsZero() {
			t.Fatalf("%s still stores the key after reaping: %v %v", id, s, err)
		}
	}
	tick(t, c)
	if res, err := c.Node(3).Get(t.Context(), key, 3); err != nil || !res.Set.IsZero() {
		t.Fatalf("after reaping: %v %v", err, res.Set)
	}
}

// startSimCluster starts nodes on simulated time with their background
// loops driven by hand (manualLoops); configure, if set, adjusts each.
func startSimCluster(t *testing.T, nodes int, http bool, clock *simClock, configure func(*Config)) *LocalCluster {
	t.Helper()
	return startCluster(t, LocalClusterOptions{Nodes: nodes, HTTP: http, Configure: func(i int, cfg *Config) {
		manualLoops(i, cfg)
		cfg.Clock = clock.of(i)
		cfg.Time = clock
		if configure != nil {
			configure(cfg)
		}
	}})
}

// expectExpired checks that every node reads key as absent, with the 404
// saying it expired.
func expectExpired(t *testing.T, c *LocalCluster, key []byte, query string) {
	t.Helper()
	for i := range c.Size() {
		res := do(t, "GET", c.Addr(i), kvPath(string(key))+query, nil)
		var body struct{ Error, Code string }
		_ = json.Unmarshal(res.body, &body)
		if res.status != http.StatusNotFound || body.Error != "key expired" {
			t.Fatalf("%s after expiry: %d %s", NodeID(i), res.status, res.body)
		}
	}
}

// A write whose context saw an expiring value replaces it as usual; a
// concurrent write survives its expiry as the only value.
func TestTTLWithContextAndConcurrentWrites(t *testing.T) {
	clock := newSimClock(3)
	c := startSimCluster(t, 3, true, clock, nil)
	n := c.Node(0)
	put := func(key, value string, ttl time.Duration, withContext bool) {
		t.Helper()
		req := WriteRequest{Key: []byte(key), Value: []byte(value), TTL: ttl, W: 3}
		if withContext {
			res, err := n.Get(t.Context(), []byte(key), 3)
			if err != nil {
				t.Fatal(err)
			}
			req.Context = res.Set.Context
		}
		if _, err := n.Put(t.Context(), req); err != nil {
			t.Fatal(err)
		}
	}
	put("replaced", "old", time.Second, false)
	put("replaced", "new", 0, true)
	put("concurrent", "expiring", time.Second, false)
	put("concurrent", "lasting", 0, false)
	if st, vals, _ := readValues(t, c.Addr(1), "concurrent", ""); st != http.StatusMultipleChoices || len(vals) != 2 {
		t.Fatalf("before expiry: %d %q", st, vals)
	}
	clock.advance(2 * time.Second)
	for key, want := range map[string]string{"replaced": "new", "concurrent": "lasting"} {
		if st, vals, _ := readValues(t, c.Addr(2), key, ""); st != http.StatusOK || len(vals) != 1 || vals[0] != want {
			t.Fatalf("%s after expiry: %d %q, want %q", key, st, vals, want)
		}
	}
	// A later write drops the expired sibling from the stored set.
	put("concurrent", "again", 0, false)
	if s, _ := n.readLocal([]byte("concurrent")); len(s.Siblings) != 2 {
		t.Fatalf("stored siblings after a write past expiry: %v", s.Siblings)
	}
}

func TestTTLRequests(t *testing.T) {
	clock := newSimClock(1)
	c := startCluster(t, LocalClusterOptions{Nodes: 1, HTTP: true, Configure: func(i int, cfg *Config) {
		cfg.Ring.N, cfg.R, cfg.W = 1, 1, 1
		cfg.Clock = clock.of(i)
		cfg.Time = clock
	}})
	addr := c.Addr(0)
	for _, bad := range []string{"?ttl=soon", "?ttl=0", "?ttl=-5s", "?ttl=500us", "?ttl=1000000y", "?ttl=9223372036854775807", "?ttl=-9223372037"} {
		res := do(t, "PUT", addr, kvPath("k")+bad, []byte("v"))
		if res.status != http.StatusBadRequest || !json.Valid(res.body) || !bytes.Contains(res.body, []byte(CodeBadTTL)) {
			t.Errorf("PUT %s: %d %s", bad, res.status, res.body)
		}
	}
	if res := do(t, "PUT", addr, kvPath("k"), []byte("v"), HeaderTTL, "later"); res.status != http.StatusBadRequest {
		t.Errorf("bad X-TTL: %d %s", res.status, res.body)
	}
	if res := do(t, "DELETE", addr, kvPath("k")+"?ttl=1s", nil); res.status != http.StatusBadRequest {
		t.Errorf("DELETE with a TTL: %d %s", res.status, res.body)
	}
	if st, _, _ := readValues(t, addr, "k", ""); st != http.StatusNotFound {
		t.Fatalf("a refused write stored something: %d", st)
	}
	if res := do(t, "PUT", addr, kvPath("secs"), []byte("v"), HeaderTTL, "30"); res.status != http.StatusNoContent {
		t.Fatalf("X-TTL in seconds: %d %s", res.status, res.body)
	}
	if res := do(t, "PUT", addr, kvPath("dur")+"?ttl=1m", []byte("v")); res.status != http.StatusNoContent {
		t.Fatalf("?ttl=1m: %d %s", res.status, res.body)
	}
	res := do(t, "GET", addr, kvPath("secs"), nil, "Accept", "application/json")
	var body readJSON
	if err := json.Unmarshal(res.body, &body); err != nil || len(body.Siblings) != 1 ||
		body.Siblings[0].Expires != clock.Now().Add(30*time.Second).UTC().Format(time.RFC3339Nano) {
		t.Fatalf("JSON read of a TTL value: %s", res.body)
	}
	clock.advance(31 * time.Second)
	if st, _, _ := readValues(t, addr, "secs", ""); st != http.StatusNotFound {
		t.Fatalf("30 s TTL after 31 s: %d", st)
	}
	if st, _, _ := readValues(t, addr, "dur", ""); st != http.StatusOK {
		t.Fatalf("1 min TTL after 31 s: %d", st)
	}
	// Listing skips what has expired.
	page := do(t, "GET", addr, "/kv", nil)
	if page.status != http.StatusOK || bytes.Contains(page.body, []byte(`"secs"`)) || !bytes.Contains(page.body, []byte(`"dur"`)) {
		t.Fatalf("listing after expiry: %d %s", page.status, page.body)
	}
}

// quiesce waits until no node has replication stragglers or read repairs
// in flight, advancing simulated time for those that wait on a timer (a
// read repair's wait for stragglers).
func quiesce(t *testing.T, c *LocalCluster, clock *simClock) {
	t.Helper()
	eventually(t, 10*time.Second, "background writes end", func() bool {
		clock.advance(100 * time.Millisecond)
		for i := range c.Size() {
			if n := c.Node(i); n != nil && n.coord.Background() > 0 {
				return false
			}
		}
		return true
	})
}
