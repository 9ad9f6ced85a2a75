package client_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/dynkv/dynkv/client"
)

// BenchmarkFakeGet measures the client's own cost per Get against a
// server that answers from memory (its allocations are in the figure too:
// net/http's server side costs about a dozen).
func BenchmarkFakeGet(b *testing.B) {
	body := []byte(`{"siblings":[{"value":"aGVsbG8gd29ybGQ=","content_type":"text/plain","modified":"2026-01-02T03:04:05.006Z"}],"context":"AQEPbjEuMWEyNjhjYTI3NTRlAQA"}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["X-Causal-Context"] = []string{"AQEPbjEuMWEyNjhjYTI3NTRlAQA"}
		h["X-Dynkv-Node"] = []string{"n1"}
		h["Content-Type"] = []string{"application/json"}
		w.Write(body)
	}))
	defer srv.Close()
	c, err := client.New([]string{srv.URL})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Get(ctx, "bench/key"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkClusterGetPut measures Get and Put end to end against the
// local 3-node cluster of TestMain (N=3, R=W=2).
func BenchmarkClusterGetPut(b *testing.B) {
	c, err := client.New(shared.endpoints, client.WithRoundRobin())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	value := make([]byte, 1024)
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = fmt.Sprintf("bench/%d", i)
		if _, err := c.Put(ctx, keys[i], value, client.CausalContext{}); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("Get", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := c.Get(ctx, keys[i%len(keys)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("Put", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			res, err := c.Get(ctx, keys[i%len(keys)])
			if err != nil {
				b.Fatal(err)
			}
			if _, err := c.Put(ctx, keys[i%len(keys)], value, res.Context); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}
