package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dynkv/dynkv/client"
	"github.com/dynkv/dynkv/node"
)

const testTimeout = 30 * time.Second

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

var keySeq atomic.Int64

// uniqueKey makes a key no other test (or -count run) on the shared
// cluster uses.
func uniqueKey(name string) string { return fmt.Sprintf("%s-%d", name, keySeq.Add(1)) }

func newClient(t *testing.T, endpoints []string, opts ...client.Option) *client.Client {
	t.Helper()
	c, err := client.New(endpoints, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// stringSet is a JSON set of strings: the value of the Update tests.
func decodeSet(b []byte) ([]string, error) {
	var s []string
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("decode set %q: %w", b, err)
	}
	return s, nil
}

func unionSets(siblings [][]byte) ([]byte, error) {
	var all []string
	for _, b := range siblings {
		s, err := decodeSet(b)
		if err != nil {
			return nil, err
		}
		all = append(all, s...)
	}
	slices.Sort(all)
	return json.Marshal(slices.Compact(all))
}

func addToSet(elem string) client.MutateFunc {
	return func(value []byte, found bool) ([]byte, error) {
		if !found {
			return json.Marshal([]string{elem})
		}
		return unionSets([][]byte{value, fmt.Appendf(nil, "[%q]", elem)})
	}
}

// readSet reads key and merges its siblings.
func readSet(t *testing.T, c *client.Client, key string) []string {
	t.Helper()
	res, err := c.Get(testContext(t), key)
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	merged := res.Siblings[0].Value
	if res.HasSiblings() {
		if merged, err = unionSets(res.Values()); err != nil {
			t.Fatal(err)
		}
	}
	s, err := decodeSet(merged)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestConcurrentUpdate runs Update callers adding distinct elements to one
// set at once, through different coordinators: none is lost (Done-when 1).
func TestConcurrentUpdate(t *testing.T) {
	t.Parallel()
	const writers, perWriter = 8, 10
	ctx := testContext(t)
	key := uniqueKey("concurrent-update-set")
	var (
		wg             sync.WaitGroup
		mu             sync.Mutex
		rounds, merged int
		want           []string
	)
	errs := make(chan error, writers*perWriter)
	for w := range writers {
		// Each writer starts at a different node, so writes are coordinated
		// by all of them.
		eps := slices.Clone(shared.endpoints)
		for range w % len(eps) {
			eps = append(eps[1:], eps[0])
		}
		c := newClient(t, eps)
		for i := range perWriter {
			want = append(want, fmt.Sprintf("w%d-%02d", w, i))
		}
		wg.Go(func() {
			for i := range perWriter {
				res, err := c.Update(ctx, key, unionSets, addToSet(fmt.Sprintf("w%d-%02d", w, i)))
				if err != nil {
					errs <- err
					continue
				}
				mu.Lock()
				rounds += res.Rounds
				merged += res.Merged
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Update: %v", err)
	}
	slices.Sort(want)
	got := readSet(t, newClient(t, shared.endpoints), key)
	if !slices.Equal(got, want) {
		t.Errorf("set has %d elements, want %d; missing %v", len(got), len(want), missing(want, got))
	}
	t.Logf("%d updates made %d writes and merged %d sibling values", writers*perWriter, rounds, merged)
}

func missing(want, got []string) []string {
	var out []string
	for _, w := range want {
		if !slices.Contains(got, w) {
			out = append(out, w)
		}
	}
	return out
}

// TestUpdateMergesSiblings: an Update of a key with siblings merges them,
// applies the change once and leaves one value.
func TestUpdateMergesSiblings(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	c := newClient(t, shared.endpoints)
	key := uniqueKey("update-merges-siblings")
	for _, v := range []string{`["a"]`, `["b"]`, `["c"]`} {
		if _, err := c.Put(ctx, key, []byte(v), client.CausalContext{}, client.ContentType("application/json")); err != nil {
			t.Fatal(err)
		}
	}
	calls := 0
	mutate := func(value []byte, found bool) ([]byte, error) {
		calls++
		return addToSet("d")(value, found)
	}
	res, err := c.Update(ctx, key, unionSets, mutate)
	if err != nil {
		t.Fatal(err)
	}
	if calls != 1 || res.Merged != 3 || res.Rounds != 1 || string(res.Value) != `["a","b","c","d"]` || res.Node != "n1" {
		t.Errorf("mutate called %d times; result %+v", calls, res)
	}
	got, err := c.Get(ctx, key)
	if err != nil || got.HasSiblings() || string(got.Siblings[0].Value) != `["a","b","c","d"]` ||
		got.Siblings[0].ContentType != "application/json" || got.Context != res.Context {
		t.Errorf("after Update: %+v, %v", got, err)
	}

	// A deleted key is "not found" to mutate, and the write supersedes the
	// tombstone.
	if err := c.Delete(ctx, key, got.Context); err != nil {
		t.Fatal(err)
	}
	res, err = c.Update(ctx, key, unionSets, addToSet("e"))
	if err != nil || string(res.Value) != `["e"]` {
		t.Fatalf("Update after delete: %+v, %v", res, err)
	}
	if got := readSet(t, c, key); !slices.Equal(got, []string{"e"}) {
		t.Errorf("after delete and Update: %v", got)
	}
}

// TestFailoverKill kills the node the client uses: calls keep working
// through the others (Done-when 2). With two of three nodes down writes
// need W=2 and fail with ErrQuorumUnavailable, carrying the detail.
func TestFailoverKill(t *testing.T) {
	t.Parallel()
	cl := startCluster(t, 3, nil)
	c := newClient(t, endpointsOf(cl))
	ctx := testContext(t)

	var served string
	cc, err := c.Put(ctx, "k", []byte("before"), client.CausalContext{}, client.ServedBy(&served))
	if err != nil || served != "n1" {
		t.Fatalf("Put: %v, served by %q", err, served)
	}
	cl.Kill(0)

	cc, err = c.Put(ctx, "k", []byte("after"), cc, client.ServedBy(&served))
	if err != nil {
		t.Fatalf("Put with n1 down: %v", err)
	}
	if served == "n1" || served == "" {
		t.Errorf("Put served by %q with n1 down", served)
	}
	res, err := c.Get(ctx, "k")
	if err != nil || res.HasSiblings() || string(res.Siblings[0].Value) != "after" || res.Context != cc {
		t.Fatalf("Get with n1 down: %+v, %v", res, err)
	}
	if _, err := c.Update(ctx, "set", unionSets, addToSet("x")); err != nil {
		t.Fatalf("Update with n1 down: %v", err)
	}
	if err := c.Delete(ctx, "k", res.Context); err != nil {
		t.Fatalf("Delete with n1 down: %v", err)
	}
	if _, err := c.Get(ctx, "k"); !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("Get after delete: %v", err)
	}
	for i := range 20 { // many calls, none pays for the dead node twice
		if _, err := c.Put(ctx, fmt.Sprintf("many-%d", i), []byte("v"), client.CausalContext{}); err != nil {
			t.Fatalf("Put %d: %v", i, err)
		}
	}

	cl.Kill(1)
	_, err = c.Put(ctx, "k", []byte("lonely"), client.CausalContext{})
	var apiErr *client.APIError
	if !errors.Is(err, client.ErrQuorumUnavailable) || !errors.As(err, &apiErr) || apiErr.Required != 2 || apiErr.Acks > 1 || apiErr.Node != "n3" {
		t.Fatalf("Put with two nodes down: %v (%+v)", err, apiErr)
	}
	if _, err := c.Get(ctx, "set", client.R(client.One)); err != nil {
		t.Errorf("Get with R=1 and one node up: %v", err)
	}
}

// TestServerErrors provokes each refusal a real node gives and checks its
// typed error.
func TestServerErrors(t *testing.T) {
	t.Parallel()
	cl := startCluster(t, 3, func(i int, c *node.Config) {
		c.MaxValueBytes = 16
		c.MaxSiblings = 2
	})
	c := newClient(t, endpointsOf(cl))
	ctx := testContext(t)

	check := func(what string, err error, want error, code string) {
		t.Helper()
		var apiErr *client.APIError
		if !errors.Is(err, want) || !errors.As(err, &apiErr) || apiErr.Code != code {
			t.Errorf("%s: %v; want %v with code %s", what, err, want, code)
		}
	}
	_, err := c.Get(ctx, "absent")
	check("get absent", err, client.ErrNotFound, client.CodeNotFound)
	_, err = c.Put(ctx, "k", []byte("v"), client.CausalContext{}, client.W(4))
	check("w=4", err, client.ErrBadRequest, client.CodeBadQuorum)
	forged, _ := client.ParseCausalContext("AAAAAAAA")
	_, err = c.Put(ctx, "k", []byte("v"), forged)
	check("forged context", err, client.ErrBadRequest, client.CodeBadContext)
	_, err = c.Put(ctx, "k", []byte("seventeen bytes!!"), client.CausalContext{})
	check("value of 17 bytes", err, client.ErrValueTooLarge, client.CodeValueTooLarge)

	for _, v := range []string{"a", "b"} {
		if _, err := c.Put(ctx, "crowded", []byte(v), client.CausalContext{}); err != nil {
			t.Fatal(err)
		}
	}
	_, err = c.Put(ctx, "crowded", []byte("c"), client.CausalContext{})
	check("third sibling", err, client.ErrTooManySiblings, client.CodeTooManySiblings)
	res, err := c.Get(ctx, "crowded")
	if err != nil || len(res.Siblings) != 2 {
		t.Fatalf("after the refusal: %+v, %v", res, err)
	}
	// Resolving with the context works.
	if _, err := c.Put(ctx, "crowded", []byte("ab"), res.Context); err != nil {
		t.Errorf("resolve: %v", err)
	}
}
