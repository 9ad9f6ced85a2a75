package node

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dynkv/dynkv/node/internal/testutil"
	"github.com/dynkv/dynkv/vclock"
)

func startCluster(t testing.TB, opts LocalClusterOptions) *LocalCluster {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = testutil.TempDir(t)
	}
	// Small stores: tests open and restart nodes often, and opening costs
	// what the memtable and value-log sizes cost.
	configure := opts.Configure
	opts.Configure = func(i int, c *Config) {
		c.MemTableBytes, c.ValueLogFileBytes = 1<<20, 4<<20
		if configure != nil {
			configure(i, c)
		}
	}
	c, err := StartLocalCluster(opts)
	if err != nil {
		t.Fatalf("start cluster: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("close cluster: %v", err)
		}
	})
	return c
}

type httpResult struct {
	status int
	header http.Header
	body   []byte
}

// httpClient shows tests every answer as the node sent it: it follows no
// redirect (GET / answers 302 to /ui).
var httpClient = &http.Client{
	Timeout:       20 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

func do(t testing.TB, method, addr, path string, body []byte, headers ...string) httpResult {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+addr+"/", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	// Opaque sends the path byte for byte, even malformed escapes.
	req.URL.Opaque, req.URL.RawQuery, _ = strings.Cut(path, "?")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return httpResult{status: resp.StatusCode, header: resp.Header, body: b}
}

func kvPath(key string) string { return "/kv/" + url.PathEscape(key) }

// readValues returns the live sibling values of a JSON read and its context.
func readValues(t testing.TB, addr, key string, query string) (int, []string, string) {
	t.Helper()
	res := do(t, "GET", addr, kvPath(key)+query, nil, "Accept", "application/json")
	if res.status == http.StatusNotFound {
		return res.status, nil, res.header.Get(HeaderContext)
	}
	var body readJSON
	if err := json.Unmarshal(res.body, &body); err != nil {
		t.Fatalf("GET %s: status %d, body %q: %v", key, res.status, res.body, err)
	}
	var vals []string
	for _, s := range body.Siblings {
		v, err := base64.StdEncoding.DecodeString(s.Value)
		if err != nil {
			t.Fatalf("sibling value: %v", err)
		}
		vals = append(vals, string(v))
	}
	slices.Sort(vals)
	if body.Context != res.header.Get(HeaderContext) {
		t.Fatalf("JSON context %q differs from header %q", body.Context, res.header.Get(HeaderContext))
	}
	return res.status, vals, body.Context
}

// eventually waits until cond holds, failing the test past the deadline.
func eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	testutil.Eventually(t, within, what, cond)
}

// readLocal is node's own stored state for key, for assertions.
func (n *Node) readLocal(key []byte) (vclock.Set, error) { return n.replica.Read(key) }

// inParallel runs f(0..n-1) on a few goroutines and fails the test with
// the first error: bulk loads and checks that would otherwise leave one of
// the machine's cores idle.
func inParallel(t testing.TB, n int, f func(i int) error) {
	t.Helper()
	const workers = 8
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				if err := f(i); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
}
