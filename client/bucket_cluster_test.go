package client_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dynkv/dynkv/client"
)

// uniqueBucket makes a bucket name no other test on the shared cluster
// uses.
func uniqueBucket(name string) string { return strings.ToLower(uniqueKey(name)) }

// TestBucketKeys: a key in a bucket is not the default bucket's key of the
// same name, and each bucket lists only its own keys.
func TestBucketKeys(t *testing.T) {
	t.Parallel()
	ctx, c := testContext(t), newClient(t, shared.endpoints)
	b := c.Bucket(uniqueBucket("keys"))
	key := uniqueKey("bk")
	cc, err := b.Put(ctx, key, []byte("in the bucket"), client.CausalContext{}, client.ContentType("text/plain"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(ctx, key); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("the default bucket's %q: %v; want not found", key, err)
	}
	res, err := b.Get(ctx, key)
	if err != nil || len(res.Siblings) != 1 || string(res.Siblings[0].Value) != "in the bucket" || res.Context != cc {
		t.Fatalf("Get in the bucket: %+v, %v", res, err)
	}
	if _, err := c.Put(ctx, key, []byte("in default"), client.CausalContext{}); err != nil {
		t.Fatal(err)
	}
	page, err := b.List(ctx, "", "", 0)
	if err != nil || !slices.Equal(page.Keys, []string{key}) {
		t.Errorf("List of the bucket: %+v, %v; want only %q", page, err, key)
	}
	if err := b.Delete(ctx, key, cc); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Get(ctx, key); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("after the delete in the bucket: %v", err)
	}
	if res, err := c.Get(ctx, key); err != nil || string(res.Siblings[0].Value) != "in default" {
		t.Errorf("the default bucket's key after the bucket's was deleted: %+v, %v", res, err)
	}
	set, err := b.RawSet(ctx, key) // a tombstone: still a state
	if err != nil || len(set) == 0 {
		t.Errorf("RawSet in the bucket: %d bytes, %v", len(set), err)
	}
}

// TestBucketPropsCluster sets props, sees every node learn them, and the
// writes in the bucket follow them: the default TTL, last writer wins.
func TestBucketPropsCluster(t *testing.T) {
	t.Parallel()
	ctx, c := testContext(t), newClient(t, shared.endpoints)
	name := uniqueBucket("props")
	res, err := c.SetBucketProps(ctx, name, client.BucketProps{N: 2, DefaultTTL: time.Hour, Conflict: client.ConflictLWW})
	if err != nil || res.Name != name || res.Props.N != 2 || res.Props.R != 2 || res.Props.W != 2 || res.Props.DefaultTTL != time.Hour ||
		res.Version == nil || res.AcknowledgedBy < 1 || res.Members != shared.cluster.Size() {
		t.Fatalf("SetBucketProps: %+v, %v", res, err)
	}
	for _, ep := range shared.endpoints {
		one := newClient(t, []string{ep})
		waitUntil(t, ep+" learns the props", func() (bool, string) {
			info, err := one.BucketProps(ctx, name)
			return err == nil && info.Props == res.Props, ""
		})
	}
	list, err := c.Buckets(ctx)
	i := slices.IndexFunc(list, func(b client.BucketInfo) bool { return b.Name == name })
	d := slices.IndexFunc(list, func(b client.BucketInfo) bool { return b.Name == client.DefaultBucket })
	if err != nil || i < 0 || d < 0 || list[i].Props != res.Props || list[d].Version != nil {
		t.Errorf("Buckets: %+v, %v", list, err)
	}

	b, key := c.Bucket(name), uniqueKey("lww")
	for _, v := range []string{"first", "second"} { // concurrent: no context
		if _, err := b.Put(ctx, key, []byte(v), client.CausalContext{}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := b.Get(ctx, key)
	if err != nil || len(got.Siblings) != 1 || got.Siblings[0].Expires.IsZero() {
		t.Errorf("an lww bucket with a default TTL: %+v, %v; want one value that expires", got, err)
	}

	_, err = c.SetBucketProps(ctx, name, client.BucketProps{N: 2, R: 3})
	var ae *client.APIError
	if !errors.Is(err, client.ErrBadRequest) || !errors.As(err, &ae) || ae.Code != client.CodeBadProps {
		t.Errorf("R above N: %v; want bad_props", err)
	}
	if _, err := c.BucketProps(ctx, "no_such"); err != nil {
		t.Errorf("props of a bucket never set: %v; want the defaults", err)
	}
}

// TestBucketsStrict: the SDK's types know every field the bucket routes
// send.
func TestBucketsStrict(t *testing.T) {
	t.Parallel()
	ctx, c := testContext(t), newClient(t, shared.endpoints)
	name := uniqueBucket("strict")
	if _, err := c.SetBucketProps(ctx, name, client.BucketProps{DefaultTTL: 90 * time.Second}); err != nil {
		t.Fatal(err)
	}
	base := shared.endpoints[0]
	for _, tc := range []struct {
		method, path, body string
		list               bool
	}{
		{"GET", "/buckets", "", true},
		{"GET", "/buckets/" + name + "/props", "", false},
		{"GET", "/buckets/default/props", "", false},
		{"PUT", "/buckets/" + name + "/props", `{"default_ttl":"90s","conflict":"siblings"}`, false},
	} {
		req, _ := http.NewRequestWithContext(ctx, tc.method, base+tc.path, strings.NewReader(tc.body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s %s: %d %s", tc.method, tc.path, resp.StatusCode, b)
			continue
		}
		if err := client.StrictBucketAnswer(bytes.TrimSpace(b), tc.list); err != nil {
			t.Errorf("%s %s sends what the SDK lacks: %v\n%s", tc.method, tc.path, err, b)
		}
	}
}
