package client_test

import (
	"testing"

	"github.com/dynkv/dynkv/client"
)

// TestPutContentType: a Put without ContentType stores
// application/octet-stream even over a typed value; KeepContentType keeps
// the stored type, falls back to the default on a new key, and yields to
// ContentType.
func TestPutContentType(t *testing.T) {
	ctx, c := testContext(t), newClient(t, shared.endpoints)
	key, fresh := uniqueKey("ct/a"), uniqueKey("ct/new")
	typeOf := func(key string) string {
		t.Helper()
		res, err := c.Get(ctx, key)
		if err != nil || len(res.Siblings) != 1 {
			t.Fatalf("get %s: %v, %d siblings", key, err, len(res.Siblings))
		}
		return res.Siblings[0].ContentType
	}
	cc, err := c.Put(ctx, key, []byte("x"), client.CausalContext{}, client.ContentType("text/plain"))
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		opts []client.RequestOption
		want string
	}{
		{[]client.RequestOption{client.KeepContentType()}, "text/plain"},
		{nil, "application/octet-stream"},
		{[]client.RequestOption{client.ContentType("text/csv")}, "text/csv"},
		{[]client.RequestOption{client.KeepContentType(), client.ContentType("image/png")}, "image/png"},
		{[]client.RequestOption{client.KeepContentType()}, "image/png"},
	} {
		if cc, err = c.Put(ctx, key, []byte("x"), cc, step.opts...); err != nil {
			t.Fatal(err)
		}
		if got := typeOf(key); got != step.want {
			t.Errorf("after a put with %d options: %s, want %s", len(step.opts), got, step.want)
		}
	}
	if _, err := c.Put(ctx, fresh, []byte("x"), client.CausalContext{}, client.KeepContentType()); err != nil {
		t.Fatal(err)
	}
	if got := typeOf(fresh); got != "application/octet-stream" {
		t.Errorf("KeepContentType on a new key stored %s, want application/octet-stream", got)
	}
}
