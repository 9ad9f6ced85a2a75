package node

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dynkv/dynkv/bucket"
)

// The request path of named buckets (docs/API.md, "Buckets"): a bucket's
// own N, quorums, value cap, default TTL and conflict mode, its own key
// space and listing, and contexts bound to the bucket.

func bucketPath(b, key string) string { return "/buckets/" + b + "/kv/" + url.PathEscape(key) }

// testBuckets is the registry the tests set on every node.
func testBuckets(t testing.TB) bucket.Registry {
	t.Helper()
	var reg bucket.Registry
	for name, p := range map[string]bucket.Props{
		"two":   {N: 2},
		"small": {MaxValueBytes: 10},
		"brief": {DefaultTTL: bucket.Duration(time.Second)},
		"last":  {Conflict: bucket.LWW},
		"sibs":  {Conflict: bucket.Siblings},
	} {
		var err error
		if reg, _, err = reg.Set(name, p, "n1"); err != nil {
			t.Fatal(err)
		}
	}
	return reg
}

func startBucketCluster(t *testing.T, nodes int) (*LocalCluster, *simClock) {
	t.Helper()
	clock := newSimClock(nodes)
	c := startSimCluster(t, nodes, true, clock, nil)
	reg := testBuckets(t)
	for i := range nodes {
		c.Node(i).applyBucketRegistry(reg)
	}
	return c, clock
}

func wantStatus(t *testing.T, res httpResult, status int, code string) {
	t.Helper()
	var body struct{ Code string }
	_ = json.Unmarshal(res.body, &body)
	if res.status != status || body.Code != code {
		t.Fatalf("got %d %s, want %d %q", res.status, res.body, status, code)
	}
}

// A bucket with N=2 writes to exactly its two replicas, the first two of
// the walk of its internal key's partition; W=all is its N, and w=3 is
// refused.
func TestBucketOwnN(t *testing.T) {
	c, _ := startBucketCluster(t, 4)
	ikey := bucket.Key("two", []byte("k"))
	r := c.Node(0).cluster.View().Ring
	pref := r.PreferenceListN(r.PartitionOf(ikey), 2)
	wantStatus(t, do(t, "PUT", c.Addr(0), bucketPath("two", "k")+"?w=3", []byte("v")), http.StatusBadRequest, CodeBadQuorum)
	wantStatus(t, do(t, "GET", c.Addr(0), bucketPath("two", "k")+"?r=3", nil), http.StatusBadRequest, CodeBadQuorum)
	if res := do(t, "PUT", c.Addr(0), bucketPath("two", "k")+"?w=all", []byte("v")); res.status != http.StatusNoContent {
		t.Fatalf("PUT w=all: %d %s", res.status, res.body)
	}
	for i := range c.Size() {
		s, err := c.Node(i).readLocal(ikey)
		if err != nil {
			t.Fatal(err)
		}
		if want := slices.Contains(pref, NodeID(i)); want != !s.IsZero() {
			t.Fatalf("%s holds the key: %v, want %v (replicas %v)", NodeID(i), !s.IsZero(), want, pref)
		}
		if s, _ := c.Node(i).readLocal([]byte("k")); !s.IsZero() {
			t.Fatalf("%s holds the client key itself", NodeID(i))
		}
	}
	if res := do(t, "GET", c.Addr(3), bucketPath("two", "k")+"?r=all", nil); res.status != http.StatusOK || string(res.body) != "v" {
		t.Fatalf("GET r=all: %d %s", res.status, res.body)
	}
	local := do(t, "GET", c.Addr(indexOf(pref[0])), "/admin/local/k?bucket=two", nil)
	var body struct {
		Bucket  string
		Found   bool
		Replica bool
	}
	if err := json.Unmarshal(local.body, &body); err != nil || !body.Found || !body.Replica || body.Bucket != "two" {
		t.Fatalf("/admin/local?bucket=two: %d %s", local.status, local.body)
	}
	ringRes := do(t, "GET", c.Addr(0), "/cluster/ring?key=k&bucket=two", nil)
	var rb struct {
		N              int      `json:"n"`
		PreferenceList []string `json:"preference_list"`
		Fallbacks      []string `json:"fallbacks"`
	}
	if err := json.Unmarshal(ringRes.body, &rb); err != nil || rb.N != 2 || !slices.Equal(rb.PreferenceList, pref) || len(rb.Fallbacks) != 2 {
		t.Fatalf("/cluster/ring?bucket=two: %d %s, want replicas %v", ringRes.status, ringRes.body, pref)
	}
	wantStatus(t, do(t, "GET", c.Addr(0), "/admin/local/k?bucket=Bad", nil), http.StatusBadRequest, CodeBadBucket)
}

// The value cap and the default TTL are the bucket's; ?ttl overrides the
// default, and a delete takes no TTL.
func TestBucketValueCapAndDefaultTTL(t *testing.T) {
	c, clock := startBucketCluster(t, 3)
	wantStatus(t, do(t, "PUT", c.Addr(0), bucketPath("small", "k"), []byte("12345678901")), http.StatusRequestEntityTooLarge, CodeValueTooLarge)
	for i := range c.Size() {
		if s, _ := c.Node(i).readLocal(bucket.Key("small", []byte("k"))); !s.IsZero() {
			t.Fatalf("%s stored a refused value", NodeID(i))
		}
	}
	if res := do(t, "PUT", c.Addr(0), bucketPath("small", "k"), []byte("1234567890")); res.status != http.StatusNoContent {
		t.Fatalf("PUT at the cap: %d %s", res.status, res.body)
	}
	if res := do(t, "PUT", c.Addr(0), kvPath("k"), []byte("12345678901")); res.status != http.StatusNoContent {
		t.Fatalf("the default bucket has its own cap: %d %s", res.status, res.body)
	}
	for key, query := range map[string]string{"default": "?w=all", "override": "?w=all&ttl=1h"} {
		if res := do(t, "PUT", c.Addr(1), bucketPath("brief", key)+query, []byte("v")); res.status != http.StatusNoContent {
			t.Fatalf("PUT %s: %d %s", key, res.status, res.body)
		}
	}
	wantStatus(t, do(t, "DELETE", c.Addr(1), bucketPath("brief", "default")+"?ttl=1h", nil), http.StatusBadRequest, CodeBadTTL)
	clock.advance(2 * time.Second)
	res := do(t, "GET", c.Addr(2), bucketPath("brief", "default")+"?r=all", nil)
	if !strings.Contains(string(res.body), "key expired") || res.status != http.StatusNotFound {
		t.Fatalf("default TTL: %d %s", res.status, res.body)
	}
	if res := do(t, "GET", c.Addr(2), bucketPath("brief", "override")+"?r=all", nil); res.status != http.StatusOK {
		t.Fatalf("?ttl overrides the default: %d %s", res.status, res.body)
	}
}

// Two concurrent blind writes through different coordinators: an lww
// bucket reads back one of them, every node the same; a siblings bucket
// keeps both (docs/GUARANTEES.md, G4).
func TestBucketConflictModes(t *testing.T) {
	c, clock := startBucketCluster(t, 3)
	for _, b := range []string{"last", "sibs"} {
		for i, v := range []string{"first", "second"} {
			if res := do(t, "PUT", c.Addr(i), bucketPath(b, "k")+"?w=all", []byte(v)); res.status != http.StatusNoContent {
				t.Fatalf("PUT %s: %d %s", b, res.status, res.body)
			}
			clock.advance(time.Millisecond)
		}
	}
	var winner string
	for i := range c.Size() {
		res := do(t, "GET", c.Addr(i), bucketPath("last", "k")+"?r=all", nil)
		if res.status != http.StatusOK || (winner != "" && string(res.body) != winner) {
			t.Fatalf("lww read on %s: %d %s (others read %q)", NodeID(i), res.status, res.body, winner)
		}
		winner = string(res.body)
		res = do(t, "GET", c.Addr(i), bucketPath("sibs", "k")+"?r=all", nil, "Accept", "application/json")
		if res.status != http.StatusMultipleChoices {
			t.Fatalf("siblings read on %s: %d %s", NodeID(i), res.status, res.body)
		}
	}
	if winner != "second" {
		t.Fatalf("lww kept %q, want the later write", winner)
	}
}

// listBucketKeys pages through a listing with limit=1.
func listBucketKeys(t *testing.T, addr, path string) []string {
	t.Helper()
	var keys []string
	after := ""
	for range 100 {
		res := do(t, "GET", addr, path+"?limit=1&after="+url.QueryEscape(after), nil)
		var page listPage
		if err := json.Unmarshal(res.body, &page); err != nil || res.status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, res.status, res.body)
		}
		keys = append(keys, page.Keys...)
		if page.Next == "" {
			slices.Sort(keys)
			return keys
		}
		after = page.Next
	}
	t.Fatalf("%s: listing does not end", path)
	return nil
}

// Each bucket lists its own keys, as client keys; the default bucket's
// listing leaves the others' out; one key in two buckets is two keys; a
// context from one bucket is refused in another.
func TestBucketKeySpaces(t *testing.T) {
	c, _ := startBucketCluster(t, 3)
	for path, v := range map[string]string{
		kvPath("a"): "default-a", kvPath("b"): "default-b",
		bucketPath("two", "a"): "two-a", bucketPath("two", "c"): "two-c", bucketPath("sibs", "a"): "sibs-a",
	} {
		if res := do(t, "PUT", c.Addr(0), path+"?w=all", []byte(v)); res.status != http.StatusNoContent {
			t.Fatalf("PUT %s: %d %s", path, res.status, res.body)
		}
	}
	for path, want := range map[string][]string{
		"/kv": {"a", "b"}, "/buckets/default/kv": {"a", "b"},
		"/buckets/two/kv": {"a", "c"}, "/buckets/sibs/kv": {"a"}, "/buckets/last/kv": nil,
	} {
		if got := listBucketKeys(t, c.Addr(1), path); !slices.Equal(got, want) {
			t.Fatalf("%s lists %q, want %q", path, got, want)
		}
	}
	res := do(t, "GET", c.Addr(1), "/buckets/two/kv?prefix=c", nil)
	if !strings.Contains(string(res.body), `"keys":["c"]`) {
		t.Fatalf("prefix in a bucket: %s", res.body)
	}
	for path, want := range map[string]string{kvPath("a"): "default-a", bucketPath("two", "a"): "two-a", bucketPath("default", "a"): "default-a"} {
		if res := do(t, "GET", c.Addr(2), path, nil); string(res.body) != want {
			t.Fatalf("GET %s: %d %s, want %s", path, res.status, res.body, want)
		}
	}
	token := do(t, "GET", c.Addr(2), bucketPath("two", "a"), nil).header.Get(HeaderContext)
	wantStatus(t, do(t, "PUT", c.Addr(2), bucketPath("sibs", "a"), []byte("x"), HeaderContext, token), http.StatusBadRequest, CodeContextMismatch)
	wantStatus(t, do(t, "PUT", c.Addr(2), kvPath("a"), []byte("x"), HeaderContext, token), http.StatusBadRequest, CodeContextMismatch)
	if res := do(t, "PUT", c.Addr(2), bucketPath("two", "a"), []byte("x"), HeaderContext, token); res.status != http.StatusNoContent {
		t.Fatalf("PUT with the bucket's own context: %d %s", res.status, res.body)
	}
	// The path is never normalised: this is the key "../props" of bucket
	// two, as security/auth judges it (write, not the props' admin).
	if res := do(t, "PUT", c.Addr(0), "/buckets/two/kv/../props", []byte("dots")); res.status != http.StatusNoContent {
		t.Fatalf("PUT /buckets/two/kv/../props: %d %s", res.status, res.body)
	}
	if res := do(t, "GET", c.Addr(1), bucketPath("two", "../props"), nil); string(res.body) != "dots" {
		t.Fatalf("GET the key ../props: %d %s", res.status, res.body)
	}
	// A default-bucket key may not start with NUL: that is where the other
	// buckets' internal keys live.
	wantStatus(t, do(t, "GET", c.Addr(0), "/kv/%00two%00a", nil), http.StatusBadRequest, CodeBadKey)
	wantStatus(t, do(t, "PUT", c.Addr(0), "/buckets/two/kv/%00x", []byte("v")), http.StatusBadRequest, CodeBadKey)
	wantStatus(t, do(t, "GET", c.Addr(0), "/buckets/Two/kv/a", nil), http.StatusBadRequest, CodeBadBucket)
	if res := do(t, "GET", c.Addr(0), "/kv?prefix=%00", nil); !strings.Contains(string(res.body), `"keys":[]`) {
		t.Fatalf("a NUL prefix in the default bucket lists: %s", res.body)
	}
}
