//go:build unix

package node

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/dynkv/dynkv/bucket"
)

// The bucket routes of TestOpenAPI: a bucket's keys and listing, and its
// props.
//
// setBucketProps sets props of bucket name through PUT /buckets/{name}/props.
func setBucketProps(t *testing.T, s *specChecker, c *LocalCluster, name string, props bucket.Props) {
	t.Helper()
	body, err := json.Marshal(props)
	if err != nil {
		t.Fatal(err)
	}
	s.call(t, 200, "PUT", c.Addr(0), "/buckets/"+name+"/props", body, "Content-Type", "application/json")
}

// openAPIBuckets: a named bucket's keys, listing, props, and their errors.
func openAPIBuckets(t *testing.T, s *specChecker, c *LocalCluster) {
	a := c.Addr(0)
	setBucketProps(t, s, c, "carts", bucket.Props{N: 2, MaxValueBytes: 100, DefaultTTL: bucket.Duration(time.Hour)})
	s.call(t, 200, "GET", a, "/buckets", nil)
	s.call(t, 200, "GET", a, "/buckets/carts/props", nil)
	s.call(t, 200, "GET", a, "/buckets/never-set/props", nil)
	s.call(t, 400, "PUT", a, "/buckets/carts/props", []byte(`{"n":0,"r":5}`), "Content-Type", "application/json")
	s.call(t, 400, "PUT", a, "/buckets/carts/props", []byte(`{"conflict":"newest"}`), "Content-Type", "application/json")
	s.call(t, 400, "PUT", a, "/buckets/Carts/props", []byte(`{"n":2}`), "Content-Type", "application/json")
	s.call(t, 400, "GET", a, "/buckets/-x/props", nil)

	text := []string{"Content-Type", "text/plain"}
	ctx := s.call(t, 204, "PUT", a, "/buckets/carts/kv/alice?w=all", []byte("apples"), text...).header.Get(HeaderContext)
	s.call(t, 200, "GET", a, "/buckets/carts/kv/alice", nil)
	s.call(t, 200, "GET", a, "/buckets/carts/kv/alice?r=all", nil, "Accept", "application/json")
	s.call(t, 204, "PUT", a, "/buckets/carts/kv/alice?w=quorum&ttl=10m", []byte("pears"), HeaderContext, ctx, "Content-Type", "text/plain")
	s.call(t, 204, "PUT", a, "/buckets/carts/kv/alice", []byte("plums"), text...) // no context: a sibling
	s.call(t, 300, "GET", a, "/buckets/carts/kv/alice?r=all", nil)
	s.call(t, 204, "PUT", a, "/buckets/carts/kv/user%2F1?w=2", []byte("x"), text...)
	ctx = s.call(t, 200, "GET", a, "/buckets/carts/kv/user%2F1", nil).header.Get(HeaderContext)
	s.call(t, 204, "DELETE", a, "/buckets/carts/kv/user%2F1?w=all", nil, HeaderContext, ctx)
	s.call(t, 404, "GET", a, "/buckets/carts/kv/user%2F1", nil)
	s.call(t, 404, "GET", a, "/buckets/carts/kv/absent", nil, "Accept", "application/json")
	s.call(t, 204, "PUT", a, "/buckets/default/kv/in-default", []byte("x"), text...)
	if res := s.call(t, 200, "GET", a, "/buckets/carts/kv", nil); !strings.Contains(string(res.body), `"alice"`) || strings.Contains(string(res.body), "greeting") {
		t.Errorf("GET /buckets/carts/kv lists %s", res.body)
	}
	s.call(t, 200, "GET", a, "/buckets/carts/kv?prefix=a&limit=1", nil)
	s.call(t, 200, "GET", a, "/buckets/carts/kv?encoding=base64&after=YWxpY2U%3D", nil)
	s.call(t, 200, "GET", a, "/buckets/default/kv?limit=2", nil)
	s.call(t, 200, "GET", a, "/admin/local/alice?bucket=carts", nil)
	s.call(t, 200, "GET", a, "/cluster/ring?key=alice&bucket=carts", nil)

	greeting := do(t, "GET", a, "/kv/greeting", nil).header.Get(HeaderContext)
	for _, bad := range []struct {
		status       int
		method, path string
		body         []byte
		headers      []string
	}{
		{400, "GET", "/buckets/Carts/kv/alice", nil, nil},
		{400, "PUT", "/buckets/-carts/kv/alice", []byte("x"), nil},
		{400, "GET", "/buckets/Carts/kv", nil, nil},
		{400, "GET", "/admin/local/alice?bucket=Carts", nil, nil},
		{400, "GET", "/cluster/ring?key=alice&bucket=Carts", nil, nil},
		{400, "GET", "/buckets/carts/kv/%00x", nil, nil},
		{400, "GET", "/kv/%00carts%00alice", nil, nil}, // NUL: a default-bucket key may not start with it
		{400, "PUT", "/buckets/carts/kv/alice?w=3", []byte("x"), nil},
		{400, "GET", "/buckets/carts/kv/alice?r=3", nil, nil},
		{400, "PUT", "/buckets/carts/kv/alice?ttl=soon", []byte("x"), nil},
		{400, "DELETE", "/buckets/carts/kv/alice?ttl=1h", nil, nil},
		{400, "DELETE", "/kv/greeting", nil, []string{"X-TTL", "60"}},
		{400, "PUT", "/buckets/carts/kv/greeting", []byte("x"), []string{HeaderContext, greeting}}, // context_mismatch
		{400, "DELETE", "/buckets/carts/kv/alice", nil, []string{HeaderContext, "not*base64"}},
		{400, "GET", "/buckets/carts/kv?limit=0", nil, nil},
		{400, "GET", "/buckets/carts/kv/", nil, nil},
		{413, "PUT", "/buckets/carts/kv/alice", make([]byte, 101), nil},
	} {
		s.call(t, bad.status, bad.method, a, bad.path, bad.body, bad.headers...)
	}
}
