package node

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dynkv/dynkv/bucket"
	"github.com/dynkv/dynkv/node/membership"
	"github.com/dynkv/dynkv/security/auth"
)

// bucketAnswer is GET /buckets/{b}/props's and PUT's answer.
type bucketAnswer struct {
	Bucket         string          `json:"bucket"`
	Props          bucket.Props    `json:"props"`
	Version        *bucket.Version `json:"version"`
	AcknowledgedBy int             `json:"acknowledged_by"`
	Members        int             `json:"members"`
}

func getProps(t *testing.T, addr, name string) bucketAnswer {
	t.Helper()
	res := do(t, "GET", addr, "/buckets/"+name+"/props", nil)
	var out bucketAnswer
	if err := json.Unmarshal(res.body, &out); res.status != http.StatusOK || err != nil {
		t.Fatalf("GET %s props on %s: %d %s", name, addr, res.status, res.body)
	}
	return out
}

func putProps(t *testing.T, addr, name, body string) bucketAnswer {
	t.Helper()
	res := do(t, "PUT", addr, "/buckets/"+name+"/props", []byte(body))
	var out bucketAnswer
	if err := json.Unmarshal(res.body, &out); res.status != http.StatusOK || err != nil {
		t.Fatalf("PUT %s props %s on %s: %d %s", name, body, addr, res.status, res.body)
	}
	return out
}

// everyNodeShows waits until every running node answers GET with the
// props and version want has.
func everyNodeShows(t *testing.T, c *LocalCluster, name string, want bucketAnswer) {
	t.Helper()
	eventually(t, 10*time.Second, "every node shows "+name+"'s props", func() bool {
		for i := range c.Size() {
			if c.Node(i) == nil {
				continue
			}
			got := getProps(t, c.Addr(i), name)
			if got.Props != want.Props || (got.Version == nil) != (want.Version == nil) ||
				(got.Version != nil && *got.Version != *want.Version) {
				return false
			}
		}
		return true
	})
}

// docs/GUARANTEES.md, "Buckets": a PUT on one node is what every node
// applies soon after; a node that was down catches up from the digest its
// peers announce; the registry survives restarts of every node.
func TestBucketPropsAgreeRestartAndCatchUp(t *testing.T) {
	c := startCluster(t, LocalClusterOptions{Nodes: 3, HTTP: true, Configure: manualLoops})
	put := putProps(t, c.Addr(0), "carts", `{"n": 2, "conflict": "lww", "default_ttl": "30m"}`)
	want := bucket.Props{N: 2, R: 2, W: 2, MaxSiblings: DefaultConfig().MaxSiblings, MaxValueBytes: DefaultConfig().MaxValueBytes,
		DefaultTTL: bucket.Duration(30 * time.Minute), Conflict: bucket.LWW}
	if put.Bucket != "carts" || put.Props != want || put.Version == nil || *put.Version != (bucket.Version{Counter: 1, Node: "n1"}) ||
		put.AcknowledgedBy != 3 || put.Members != 3 {
		t.Fatalf("PUT answer: %+v", put)
	}
	everyNodeShows(t, c, "carts", put)
	if got := c.Node(2).bucketTable().Props("carts"); got != want {
		t.Fatalf("n3 applies %+v, want %+v", got, want)
	}

	// n3 is down during the next PUT, and learns it once it is back.
	if err := c.Stop(2); err != nil {
		t.Fatal(err)
	}
	c.Membership.SetStatus("n3", membership.StatusFailed)
	logs := putProps(t, c.Addr(1), "logs", `{"max_siblings": 3, "default_ttl": 3600}`)
	if logs.AcknowledgedBy != 2 || logs.Members != 2 || logs.Props.DefaultTTL != bucket.Duration(time.Hour) {
		t.Fatalf("PUT with n3 down: %+v", logs)
	}
	if err := c.Restart(2); err != nil {
		t.Fatal(err)
	}
	everyNodeShows(t, c, "logs", logs)
	if d := c.Node(2).buckets.Digest(); d != c.Node(0).buckets.Digest() {
		t.Fatalf("n3's digest %s after catching up, n1's %s", d, c.Node(0).buckets.Digest())
	}

	// Every node restarts; each keeps what it agreed to.
	for i := range 3 {
		if err := c.Stop(i); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		if err := c.Restart(i); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		if got := getProps(t, c.Addr(i), "carts"); got.Props != want || *got.Version != *put.Version {
			t.Fatalf("%s after restarting every node: %+v", NodeID(i), got)
		}
		if got := getProps(t, c.Addr(i), "logs"); got.Props != logs.Props {
			t.Fatalf("%s after restarting every node: %+v", NodeID(i), got)
		}
	}
	listed := do(t, "GET", c.Addr(2), "/buckets", nil)
	var list struct {
		Buckets []struct {
			Name    string          `json:"name"`
			Props   bucket.Props    `json:"props"`
			Version *bucket.Version `json:"version"`
		} `json:"buckets"`
	}
	if err := json.Unmarshal(listed.body, &list); err != nil || len(list.Buckets) != 3 ||
		list.Buckets[0].Name != "carts" || list.Buckets[1].Name != "default" || list.Buckets[1].Version != nil ||
		list.Buckets[2].Name != "logs" || list.Buckets[0].Props != want {
		t.Fatalf("GET /buckets: %d %s", listed.status, listed.body)
	}
	if m := do(t, "GET", c.Addr(0), "/metrics", nil); !bytes.Contains(m.body, []byte("dynkv_buckets_set 2")) ||
		!bytes.Contains(m.body, []byte("dynkv_bucket_registry_pulls_total")) {
		t.Fatalf("metrics lack the bucket registry's")
	}
}

// A refused PUT changes nothing anywhere, and says why.
func TestBucketPropsBadRequests(t *testing.T) {
	c := startCluster(t, LocalClusterOptions{Nodes: 1, HTTP: true, Configure: func(i int, cfg *Config) {
		cfg.Ring.N, cfg.R, cfg.W = 1, 1, 1
	}})
	addr := c.Addr(0)
	for _, body := range []string{
		``, `null`, `[]`, `{`, `{"n": 2} {}`, `{"n": 2}x`, `{"replicas": 3}`, `{"n": "three"}`, `{"n": 1.5}`,
		`{"n": 17}`, `{"n": -1}`, `{"r": 2}`, `{"n": 2, "w": 3}`, `{"max_siblings": 1000000}`,
		`{"max_value_bytes": 1073741824}`, `{"default_ttl": "soon"}`, `{"default_ttl": "-5s"}`, `{"default_ttl": "500us"}`,
		`{"conflict": "merge"}`, `{"conflict": 1}`,
	} {
		res := do(t, "PUT", addr, "/buckets/carts/props", []byte(body))
		var e struct{ Error, Code string }
		if err := json.Unmarshal(res.body, &e); err != nil || res.status != http.StatusBadRequest || e.Code != CodeBadProps || e.Error == "" {
			t.Errorf("PUT %q: %d %s", body, res.status, res.body)
		}
	}
	if res := do(t, "PUT", addr, "/buckets/carts/props", []byte(`{"n": 1`+strings.Repeat(" ", maxPropsBody)+`}`)); res.status != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized body: %d %s", res.status, res.body)
	}
	if res := do(t, "PUT", addr, "/buckets/Carts/props", []byte(`{}`)); res.status != http.StatusBadRequest || !bytes.Contains(res.body, []byte(CodeBadBucket)) {
		t.Errorf("bad name: %d %s", res.status, res.body)
	}
	if res := do(t, "DELETE", addr, "/buckets/carts/props", nil); res.status != http.StatusMethodNotAllowed {
		t.Errorf("DELETE: %d %s", res.status, res.body)
	}
	if res := do(t, "POST", addr, "/buckets", nil); res.status != http.StatusMethodNotAllowed {
		t.Errorf("POST /buckets: %d %s", res.status, res.body)
	}
	if reg := c.Node(0).buckets.Registry(); reg.Len() != 0 {
		t.Fatalf("refused PUTs changed the registry: %s", reg.Encode())
	}
	if got := getProps(t, addr, "carts"); got.Version != nil || got.Props != c.Node(0).bucketTable().Props(bucket.Default) {
		t.Fatalf("an unset bucket: %+v", got)
	}
	// An empty object is every default, set explicitly.
	if got := putProps(t, addr, "carts", `{}`); got.Version == nil || got.AcknowledgedBy != 1 || got.Members != 1 {
		t.Fatalf("PUT {}: %+v", got)
	}
	// The props routes are admin's to change, anyone's with read to see.
	if role, needed := auth.Required("PUT", "/buckets/carts/props", false); !needed || role != auth.RoleAdmin {
		t.Errorf("PUT props needs %v %v, want admin", role, needed)
	}
	if role, needed := auth.Required("GET", "/buckets", false); !needed || role != auth.RoleRead {
		t.Errorf("GET /buckets needs %v %v, want read", role, needed)
	}
}

// Two nodes that set one bucket at once, unaware of each other, converge
// on one winner: the higher version, ties broken by node name.
func TestBucketPropsConcurrentSetsConverge(t *testing.T) {
	c := startCluster(t, LocalClusterOptions{Nodes: 3, Configure: manualLoops})
	c.Net.Partition([]string{"n1"}, []string{"n2", "n3"})
	var wg sync.WaitGroup
	for i, p := range []bucket.Props{{N: 2}, {Conflict: bucket.LWW}} {
		wg.Go(func() {
			if _, _, _, err := c.Node(i).buckets.Set(t.Context(), "carts", p); err != nil {
				t.Errorf("%s: %v", NodeID(i), err)
			}
		})
	}
	wg.Wait()
	c.Net.Heal()
	eventually(t, 10*time.Second, "every node holds n2's props", func() bool {
		for i := range 3 {
			n := c.Node(i)
			_, _ = n.buckets.SyncOnce(t.Context())
			e, ok := n.buckets.Registry().Get("carts")
			if !ok || e.Version.Node != "n2" || e.Props.Conflict != bucket.LWW || n.bucketTable().Props("carts").Conflict != bucket.LWW {
				return false
			}
		}
		return true
	})
	if a, b := c.Node(0).buckets.Digest(), c.Node(2).buckets.Digest(); a != b {
		t.Fatalf("digests differ after converging: %s %s", a, b)
	}
	for i := range 3 {
		if tag := c.Membership.List()[i].Tags[membership.TagBuckets]; tag != c.Node(i).buckets.Digest() {
			t.Fatalf("%s announces %q, holds %s", NodeID(i), tag, c.Node(i).buckets.Digest())
		}
	}
}

// Every tag a node announces fits serf's 512-byte budget, with the
// longest zone and long addresses: msgpack spends at most 5 bytes of
// header per string and 5 for the map.
func TestSelfTagsFitGossipBudget(t *testing.T) {
	c := startCluster(t, LocalClusterOptions{Nodes: 1, Configure: func(i int, cfg *Config) {
		cfg.Zone = strings.Repeat("z", 128)
	}})
	tags := c.Node(0).selfTags()
	tags[membership.StateLeaving] = membership.StateLeaving
	addr := "[2001:0db8:85a3:0000:0000:8a2e:0370:7334]:65535"
	tags["http"], tags["internode"] = addr, addr
	size := 5
	for k, v := range tags {
		size += len(k) + len(v) + 10
	}
	if _, ok := tags[membership.TagBuckets]; !ok || size > 512 {
		t.Fatalf("tags %v take up to %d bytes, over serf's 512", tags, size)
	}
}

// With real gossip, a node cut off during a change learns it once the cut
// heals: its peers' announced digests (serf tags) differ from its own.
func TestBucketPropsGossipDigest(t *testing.T) {
	c := startCluster(t, LocalClusterOptions{Nodes: 3, Gossip: true, Configure: func(i int, cfg *Config) {
		manualLoops(i, cfg)
		cfg.BucketSyncInterval = 100 * time.Millisecond
	}})
	eventually(t, 15*time.Second, "every node sees 3 alive members", func() bool {
		for i := range 3 {
			for j := range 3 {
				if statusOf(c.Node(i), NodeID(j)) != membership.StatusAlive {
					return false
				}
			}
		}
		return true
	})
	c.Net.Partition([]string{"n3"}, []string{"n1", "n2"})
	if _, acked, _, err := c.Node(0).buckets.Set(t.Context(), "carts", bucket.Props{N: 2}); err != nil || acked > 2 {
		t.Fatalf("set with n3 cut off: acked %d, %v", acked, err)
	}
	c.Net.Heal()
	want := c.Node(0).buckets.Digest()
	eventually(t, 15*time.Second, "n3 holds the change and every node announces one digest", func() bool {
		for i := range 3 {
			if c.Node(i).buckets.Digest() != want {
				return false
			}
			for _, m := range c.Node(i).Members() {
				if m.Tags[membership.TagBuckets] != want {
					return false
				}
			}
		}
		return true
	})
	if got := c.Node(2).bucketTable().Props("carts").N; got != 2 {
		t.Fatalf("n3 applies n=%d for carts, want 2", got)
	}
}
