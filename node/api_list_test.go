package node

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/dynkv/dynkv/ring"
)

// listAll pages through GET /kv with the query q (plus after) and returns
// every key in the order the pages gave them. Each page's partitions_done
// must only grow, up to partitions on the last page.
func listAll(t *testing.T, addr, q string) []string {
	t.Helper()
	var all []string
	after, done := "", 0
	for range 1000 {
		path := "/kv?" + q
		if after != "" {
			path += "&after=" + url.QueryEscape(after)
		}
		res := do(t, "GET", addr, path, nil)
		if res.status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, res.status, res.body)
		}
		var page listPage
		if err := json.Unmarshal(res.body, &page); err != nil {
			t.Fatal(err)
		}
		all = append(all, page.Keys...)
		if page.Partitions != 256 || page.PartitionsDone < done || page.PartitionsDone > page.Partitions ||
			(page.Next == "") != (page.PartitionsDone == page.Partitions) {
			t.Fatalf("GET %s: %d of %d partitions done after %d, next %q", path, page.PartitionsDone, page.Partitions, done, page.Next)
		}
		done = page.PartitionsDone
		if page.Next == "" {
			return all
		}
		after = page.Next
	}
	t.Fatal("listing did not end")
	return nil
}

// The listing returns every live key exactly once, in (partition, key)
// order, over pages of any size, and no deleted key; a prefix narrows it.
func TestListKeys(t *testing.T) {
	c := startCluster(t, LocalClusterOptions{Nodes: 3, HTTP: true})
	addr := c.Addr(0)
	var live []string
	for i := range 600 {
		k := fmt.Sprintf("user/%04d", i)
		if i%3 == 0 {
			k = fmt.Sprintf("order/%04d", i)
		}
		if res := do(t, "PUT", addr, kvPath(k), []byte("v")); res.status != http.StatusNoContent {
			t.Fatalf("PUT %s: %d", k, res.status)
		}
		if i%10 == 9 {
			_, _, ctx := readValues(t, addr, k, "")
			if res := do(t, "DELETE", addr, kvPath(k), nil, HeaderContext, ctx); res.status != http.StatusNoContent {
				t.Fatalf("DELETE %s: %d", k, res.status)
			}
			continue
		}
		live = append(live, k)
	}
	order := func(keys []string) []string {
		keys = slices.Clone(keys)
		slices.SortFunc(keys, func(a, b string) int {
			pa, pb := ring.PartitionOf([]byte(a), 256), ring.PartitionOf([]byte(b), 256)
			if pa != pb {
				return pa - pb
			}
			switch {
			case a < b:
				return -1
			case a > b:
				return 1
			}
			return 0
		})
		return keys
	}
	want := order(live)
	for _, limit := range []int{1, 7, 1000} {
		if got := listAll(t, c.Addr(limit%3), fmt.Sprintf("limit=%d", limit)); !slices.Equal(got, want) {
			t.Fatalf("limit %d: %d keys, want %d in (partition, key) order", limit, len(got), len(want))
		}
	}
	var orders []string
	for _, k := range want {
		if k[:6] == "order/" {
			orders = append(orders, k)
		}
	}
	if got := listAll(t, addr, "prefix=order/&limit=50"); !slices.Equal(got, orders) {
		t.Fatalf("prefix order/: %d keys, want %d", len(got), len(orders))
	}
	got := listAll(t, addr, "encoding=base64&prefix="+url.QueryEscape(base64.StdEncoding.EncodeToString([]byte("order/"))))
	for i, k := range got {
		b, err := base64.StdEncoding.DecodeString(k)
		if err != nil || string(b) != orders[i] {
			t.Fatalf("base64 key %d: %q %v, want %q", i, k, err, orders[i])
		}
	}
	for _, q := range []string{"limit=0", "limit=10001", "limit=x", "encoding=hex", "encoding=base64&after=***"} {
		if res := do(t, "GET", addr, "/kv?"+q, nil); res.status != http.StatusBadRequest {
			t.Errorf("GET /kv?%s: %d, want 400", q, res.status)
		}
	}
	if res := do(t, "POST", addr, "/kv", nil); res.status != http.StatusMethodNotAllowed {
		t.Errorf("POST /kv: %d, want 405", res.status)
	}
}
