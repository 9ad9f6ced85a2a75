package node

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
)

// docs/GUARANTEES.md, G2 and G4 under contention: writers do read-merge-write (set
// union) on a few keys through random nodes; every element a writer saw
// acknowledged must be in its key's final value.
func TestConcurrentReadMergeWriteLosesNothing(t *testing.T) {
	// A fixed amount of work, not a duration: the test asserts what is
	// lost, never how fast, so it must do the same on any machine.
	const writers, keys = 16, 20
	rounds := 60
	if testing.Short() {
		rounds = 15
	}
	c := startCluster(t, LocalClusterOptions{Nodes: 3, HTTP: true})

	acked := make([]map[string][]string, writers) // writer -> key -> elements
	var wg sync.WaitGroup
	var mu sync.Mutex
	var puts, failures, siblingReads int
	for w := range writers {
		acked[w] = map[string][]string{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for seq := range rounds {
				key := fmt.Sprintf("set-%d", rng.IntN(keys))
				status, vals, ctx := readValues(t, c.Addr(rng.IntN(3)), key, "")
				if status >= 500 {
					mu.Lock()
					failures++
					mu.Unlock()
					continue
				}
				elems := union(vals)
				elem := fmt.Sprintf("w%d-%d", w, seq)
				elems = append(elems, elem)
				slices.Sort(elems)
				r := do(t, "PUT", c.Addr(rng.IntN(3)), kvPath(key), []byte(strings.Join(elems, "\n")), HeaderContext, ctx)
				mu.Lock()
				if len(vals) > 1 {
					siblingReads++
				}
				if r.status == http.StatusNoContent {
					puts++
					acked[w][key] = append(acked[w][key], elem)
				} else {
					failures++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	t.Logf("%d acknowledged read-merge-writes, %d failed requests, %d reads saw siblings", puts, failures, siblingReads)
	if puts == 0 {
		t.Fatal("no write was acknowledged")
	}
	lost := 0
	for k := range keys {
		key := fmt.Sprintf("set-%d", k)
		_, vals, _ := readValues(t, c.Addr(k%3), key, "?r=all")
		final := map[string]bool{}
		for _, e := range union(vals) {
			final[e] = true
		}
		for w := range writers {
			for _, e := range acked[w][key] {
				if !final[e] {
					lost++
					t.Errorf("key %s lost acknowledged element %s", key, e)
				}
			}
		}
	}
	if lost > 0 {
		t.Fatalf("%d acknowledged elements lost", lost)
	}
}

// union merges sibling values that each hold newline-separated elements.
func union(siblings []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range siblings {
		for _, e := range strings.Split(s, "\n") {
			if e != "" && !seen[e] {
				seen[e] = true
				out = append(out, e)
			}
		}
	}
	return out
}
