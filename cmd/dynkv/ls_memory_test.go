package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	sdk "github.com/dynkv/dynkv/client"
)

// lsKeys is how many keys TestLsBoundedMemory lists (docs/API.md, "GET /kv").
const lsKeys = 100_000

// TestLsBoundedMemory lists 100k keys (some deleted) of a three-process
// cluster with dynkv ls: every live key once, no deleted key, and no
// node's anonymous memory (the heap and badger's buffers; mapped files
// aside) growing by 50 MiB or more while it runs.
func TestLsBoundedMemory(t *testing.T) {
	if testing.Short() && os.Getenv("CI") != "true" {
		t.Skip("preloads 100k keys into a three-process cluster")
	}
	nodes := startThreeServe(t)
	var eps []string
	for _, n := range nodes {
		eps = append(eps, n.url)
	}
	// loadtest's --endpoints may name Redis servers: its own variable.
	env := []string{"DYNKV_ENDPOINTS=" + strings.Join(eps, ","), "DYNKV_LOADTEST_ENDPOINTS=" + strings.Join(eps, ",")}
	mustCLI(t, env, "loadtest", "--preload", "--duration", "0", "--keys", fmt.Sprint(lsKeys),
		"--key-prefix", "ls", "--value-size", "1KiB", "--concurrency", "32")
	cl, err := sdk.New(eps)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	deleted := map[string]bool{}
	for i := 0; i < lsKeys; i += lsKeys / 100 {
		k := fmt.Sprintf("ls%d", i)
		res, err := cl.Get(ctx, k)
		if err == nil {
			err = cl.Delete(ctx, k, res.Context)
		}
		if err != nil {
			t.Fatalf("delete %s: %v", k, err)
		}
		deleted[k] = true
	}

	var before, during rssSampler
	stopBefore := before.run(nodes)
	time.Sleep(200 * time.Millisecond) // a few samples of the idle baseline
	stopBefore()
	stop := during.run(nodes)
	start := time.Now()
	out := mustCLI(t, env, "ls", "--prefix", "ls")
	elapsed := time.Since(start)
	stop()

	seen := map[string]bool{}
	for _, k := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if seen[k] || deleted[k] {
			t.Fatalf("key %q listed twice or after its delete", k)
		}
		seen[k] = true
	}
	if want := lsKeys - len(deleted); len(seen) != want {
		t.Fatalf("listed %d keys; want %d", len(seen), want)
	}
	t.Logf("dynkv ls listed %d keys in %v (%.0f keys/s)", len(seen), elapsed.Round(time.Millisecond), float64(len(seen))/elapsed.Seconds())
	for i, n := range nodes {
		rss0, anon0 := before.peak(i)
		rss, anon := during.peak(i)
		t.Logf("%s during ls: RssAnon %s -> %s, VmRSS %s -> %s", n.id, mib(anon0), mib(anon), mib(rss0), mib(rss))
		if anon-anon0 >= 50<<20 {
			t.Errorf("%s: anonymous memory grew by %s while listing", n.id, mib(anon-anon0))
		}
	}
}
