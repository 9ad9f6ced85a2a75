package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/dynkv/dynkv/client"
)

// The examples talk to the cluster that `dynkv dev` starts: three nodes on
// its default ports. Put your own nodes here. The examples have no Output
// lines, so `go test` compiles them without a cluster; TestExamples runs
// them against one and checks what they print.
var endpoints = []string{"http://127.0.0.1:8081", "http://127.0.0.1:8082", "http://127.0.0.1:8083"}

// A write, then a read that returns the value, its causal context and the
// node that served it.
func Example() {
	ctx := context.Background()
	c, err := client.New(endpoints)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	if _, err := c.Put(ctx, "greeting", []byte("hello"), client.CausalContext{}, client.ContentType("text/plain")); err != nil {
		log.Fatal(err)
	}
	res, err := c.Get(ctx, "greeting")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s (%s), served by %s, context present: %t\n",
		res.Siblings[0].Value, res.Siblings[0].ContentType, res.Node, !res.Context.IsZero())
}

// Two writers that read the same version both write: neither saw the
// other, so both values survive as siblings, and one Get returns both with
// a context that covers them. Writing the resolved value with that context
// replaces them.
func ExampleClient_Get() {
	ctx := context.Background()
	c, err := client.New(endpoints)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	cur, _ := c.Get(ctx, "dinner") // not found on first use: an empty context
	first, err := c.Put(ctx, "dinner", []byte("pasta"), cur.Context)
	if err != nil {
		log.Fatal(err)
	}
	// Alice and Bob both start from the version "pasta".
	c.Put(ctx, "dinner", []byte("pizza"), first)
	c.Put(ctx, "dinner", []byte("sushi"), first)

	res, err := c.Get(ctx, "dinner")
	if err != nil {
		log.Fatal(err)
	}
	var values []string
	for _, s := range res.Siblings {
		values = append(values, string(s.Value))
	}
	slices.Sort(values) // siblings come in no particular order
	fmt.Println("siblings:", values)

	c.Put(ctx, "dinner", []byte("pizza and sushi"), res.Context)
	res, _ = c.Get(ctx, "dinner")
	fmt.Printf("resolved: %s (%d sibling)\n", res.Siblings[0].Value, len(res.Siblings))
}

// Each write with the context of the one before is a sequential update:
// it replaces the previous value and never makes siblings.
func ExampleClient_Put() {
	ctx := context.Background()
	c, err := client.New(endpoints)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	res, _ := c.Get(ctx, "doc/status") // not found on first use: an empty context
	cc := res.Context
	for _, v := range []string{"draft", "review", "final"} {
		if cc, err = c.Put(ctx, "doc/status", []byte(v), cc, client.W(client.All)); err != nil {
			log.Fatal(err)
		}
	}
	res, _ = c.Get(ctx, "doc/status", client.R(client.One))
	fmt.Printf("%s, %d sibling\n", res.Siblings[0].Value, len(res.Siblings))
}

// A delete removes the versions its context saw. A read of the deleted key
// fails with ErrNotFound but still returns the tombstone's context, which a
// later write sends so that it supersedes the delete.
func ExampleClient_Delete() {
	ctx := context.Background()
	c, err := client.New(endpoints)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	cc, _ := c.Put(ctx, "session/9", []byte("token"), client.CausalContext{})
	if err := c.Delete(ctx, "session/9", cc); err != nil {
		log.Fatal(err)
	}
	res, err := c.Get(ctx, "session/9")
	fmt.Println("not found:", errors.Is(err, client.ErrNotFound), "- tombstone context:", !res.Context.IsZero())

	_, err = c.Get(ctx, "never-written")
	fmt.Println(err)
}

// Update reads, merges any siblings, applies a change and writes it back
// with the read's context. Here the value is a JSON set of strings: merging
// is a union, so concurrent Updates never lose an element.
func ExampleClient_Update() {
	ctx := context.Background()
	c, err := client.New(endpoints)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	union := func(siblings [][]byte) ([]byte, error) {
		var all []string
		for _, s := range siblings {
			var set []string
			if err := json.Unmarshal(s, &set); err != nil {
				return nil, err
			}
			all = append(all, set...)
		}
		slices.Sort(all)
		return json.Marshal(slices.Compact(all))
	}
	add := func(elem string) client.MutateFunc {
		return func(value []byte, found bool) ([]byte, error) {
			var set []string
			if found {
				if err := json.Unmarshal(value, &set); err != nil {
					return nil, err
				}
			}
			set = append(set, elem)
			slices.Sort(set)
			return json.Marshal(slices.Compact(set))
		}
	}
	for _, tag := range []string{"go", "dynamo", "go"} {
		if _, err := c.Update(ctx, "tags", union, add(tag)); err != nil {
			log.Fatal(err)
		}
	}
	res, _ := c.Get(ctx, "tags")
	fmt.Printf("%s\n", res.Siblings[0].Value)
}

// A Put without ContentType stores application/octet-stream, whatever the
// value it replaces had; KeepContentType keeps the type already stored.
func ExampleKeepContentType() {
	ctx := context.Background()
	c, err := client.New(endpoints)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	cur, _ := c.Get(ctx, "page/home") // not found on first use: an empty context
	cc, err := c.Put(ctx, "page/home", []byte("<h1>hi</h1>"), cur.Context, client.ContentType("text/html"))
	if err != nil {
		log.Fatal(err)
	}
	if cc, err = c.Put(ctx, "page/home", []byte("<h1>hello</h1>"), cc, client.KeepContentType()); err != nil {
		log.Fatal(err)
	}
	res, _ := c.Get(ctx, "page/home")
	fmt.Println("kept:", res.Siblings[0].ContentType)

	if _, err := c.Put(ctx, "page/home", []byte("<h1>bye</h1>"), cc); err != nil {
		log.Fatal(err)
	}
	res, _ = c.Get(ctx, "page/home")
	fmt.Println("without an option:", res.Siblings[0].ContentType)
}

// Errors match the package's sentinels with errors.Is, and errors.As
// gives the server's detail.
func ExampleAPIError() {
	ctx := context.Background()
	c, err := client.New(endpoints)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	_, err = c.Get(ctx, "anything", client.R(5)) // the cluster has N=3
	var apiErr *client.APIError
	if errors.Is(err, client.ErrBadRequest) && errors.As(err, &apiErr) {
		fmt.Println(apiErr.Status, apiErr.Code)
	}
}

// Members lists the nodes as gossip sees them.
func ExampleClient_Members() {
	c, err := client.New(endpoints)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	members, err := c.Members(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	slices.SortFunc(members, func(a, b client.Member) int { return strings.Compare(a.ID, b.ID) })
	for _, m := range members {
		fmt.Println(m.ID, m.Status)
	}
}

// A client of a secured cluster: it trusts the cluster CA, shows a client
// certificate to nodes that require one, and sends a bearer token (from
// `dynkv token create`). Keep the token out of source code and logs; here
// it comes from the environment, as the CLI's DYNKV_TOKEN does.
func ExampleWithTLS() {
	cfg, err := client.LoadTLSConfig("certs/ca.crt", "certs/client.app.crt", "certs/client.app.key")
	if err != nil {
		log.Fatal(err)
	}
	c, err := client.New([]string{"10.0.0.1:8080", "10.0.0.2:8080"}, // https, since WithTLS
		client.WithTLS(cfg), client.WithToken(os.Getenv("DYNKV_TOKEN")))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	_, err = c.Get(context.Background(), "user/42")
	switch {
	case errors.Is(err, client.ErrUnauthenticated):
		log.Fatal("the cluster does not know this token: ", err)
	case errors.Is(err, client.ErrForbidden):
		log.Fatal("this token's role does not allow the request: ", err)
	}
}

// A bucket is a namespace of keys with its own props. Here a sessions
// bucket whose keys expire an hour after their last write (an admin sets
// props), and a key of the same name in the default bucket, which is
// another key.
func ExampleClient_Bucket() {
	ctx := context.Background()
	c, err := client.New(endpoints)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	set, err := c.SetBucketProps(ctx, "sessions", client.BucketProps{DefaultTTL: time.Hour})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("sessions: default TTL", set.Props.DefaultTTL) // every node learns it by gossip

	sessions := c.Bucket("sessions")
	if _, err := sessions.Put(ctx, "s/1", []byte("alice"), client.CausalContext{}); err != nil {
		log.Fatal(err)
	}
	res, err := sessions.Get(ctx, "s/1")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s, expires: %t\n", res.Siblings[0].Value, !res.Siblings[0].Expires.IsZero())
	_, err = c.Get(ctx, "s/1") // the default bucket's s/1
	fmt.Println("in the default bucket:", errors.Is(err, client.ErrNotFound))
}
