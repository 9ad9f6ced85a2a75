package loadtest

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dynkv/dynkv/node"
)

// startCluster runs three nodes in this process serving real HTTP (N=3,
// R=2, W=2).
func startCluster(t *testing.T) (*node.LocalCluster, []string) {
	t.Helper()
	c, err := node.StartLocalCluster(node.LocalClusterOptions{Nodes: 3, Dir: t.TempDir(), HTTP: true})
	if err != nil {
		t.Fatalf("start cluster: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("close cluster: %v", err)
		}
	})
	var eps []string
	for i := range c.Size() {
		eps = append(eps, c.Addr(i))
	}
	return c, eps
}

func newDynkv(t *testing.T, opts DynkvOptions) *Dynkv {
	t.Helper()
	d, err := NewDynkv(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// TestDynkvDrivers runs both dynkv drivers (fasthttp and the SDK) through
// the API's cases: missing key, write, read, siblings, resolution, errors.
func TestDynkvDrivers(t *testing.T) {
	t.Parallel()
	_, eps := startCluster(t)
	for _, tc := range []struct {
		name string
		new  func(DynkvOptions) (Driver, error)
	}{
		{"fasthttp", func(o DynkvOptions) (Driver, error) { return NewDynkv(o) }},
		{"sdk", func(o DynkvOptions) (Driver, error) { return NewDynkvSDK(o) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mk := func(o DynkvOptions) Driver {
				d, err := tc.new(o)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { d.Close() })
				return d
			}
			testDynkvDriver(t, mk(DynkvOptions{Endpoints: eps, W: "all"}), mk(DynkvOptions{Endpoints: eps, R: "7"}), "a/b c%?"+tc.name)
			if _, err := tc.new(DynkvOptions{Endpoints: eps, W: "most"}); err == nil {
				t.Error("w=most accepted")
			}
		})
	}
}

// testDynkvDriver checks d on key k, and that bad (whose R is 7 on N=3)
// reports the server's error code.
func testDynkvDriver(t *testing.T, d, bad Driver, k string) {
	ctx := context.Background()
	if err := d.Check(ctx); err != nil {
		t.Fatalf("Check: %v", err)
	}
	cl, err := d.NewClient(1)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var rr ReadResult
	var wr WriteResult
	key := []byte(k) // must travel percent-encoded

	if err := cl.Read(ctx, key, &rr); err != nil || rr.Found || len(rr.Values) != 0 {
		t.Fatalf("read of a missing key: found %v, values %q, err %v", rr.Found, rr.Values, err)
	}
	if err := cl.Write(ctx, key, []byte("v1"), nil, &wr); err != nil || len(wr.Token) == 0 {
		t.Fatalf("blind write: token %q, err %v", wr.Token, err)
	}
	if err := cl.Read(ctx, key, &rr); err != nil || !rr.Found || len(rr.Values) != 1 || string(rr.Values[0]) != "v1" || len(rr.Token) == 0 {
		t.Fatalf("read: found %v, values %q, token %q, err %v", rr.Found, rr.Values, rr.Token, err)
	}
	// Two writes from the same context: siblings, returned together.
	tok := append([]byte(nil), rr.Token...)
	for _, v := range []string{"x", "y"} {
		if err := cl.Write(ctx, key, []byte(v), tok, &wr); err != nil {
			t.Fatalf("write %s: %v", v, err)
		}
	}
	if err := cl.Read(ctx, key, &rr); err != nil || len(rr.Values) != 2 {
		t.Fatalf("read of two siblings: values %q, err %v", rr.Values, err)
	}
	got := []string{string(rr.Values[0]), string(rr.Values[1])}
	if !(got[0] == "x" && got[1] == "y" || got[0] == "y" && got[1] == "x") {
		t.Errorf("siblings %q, want x and y", got)
	}
	// Writing with the read's context resolves them.
	if err := cl.Write(ctx, key, []byte("z"), rr.Token, &wr); err != nil {
		t.Fatal(err)
	}
	if err := cl.Read(ctx, key, &rr); err != nil || len(rr.Values) != 1 || string(rr.Values[0]) != "z" {
		t.Fatalf("after resolving: values %q, err %v", rr.Values, err)
	}

	// Errors carry the server's code as their kind.
	bc, _ := bad.NewClient(0)
	defer bc.Close()
	if err := bc.Read(ctx, key, &rr); ErrorKind(err) != "bad_quorum" {
		t.Errorf("r=7 on N=3: %v (kind %q), want bad_quorum", err, ErrorKind(err))
	}
}

// TestDynkvDriverUnreachable: a node that does not answer fails Check and
// gives connection errors, and the client moves on to the next endpoint.
func TestDynkvDriverUnreachable(t *testing.T) {
	t.Parallel()
	_, eps := startCluster(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	l.Close() // nothing listens there now
	ctx := context.Background()
	d := newDynkv(t, DynkvOptions{Endpoints: []string{dead, "http://" + eps[0]}, Timeout: 5 * time.Second})
	if err := d.Check(ctx); err == nil || !strings.Contains(err.Error(), dead) {
		t.Errorf("Check with a dead endpoint: %v", err)
	}
	cl, _ := d.NewClient(0) // starts on the dead endpoint
	defer cl.Close()
	var wr WriteResult
	if err := cl.Write(ctx, []byte("k"), []byte("v"), nil, &wr); ErrorKind(err) != KindConnection {
		t.Fatalf("write to a dead node: %v (kind %q), want %s", err, ErrorKind(err), KindConnection)
	}
	if err := cl.Write(ctx, []byte("k"), []byte("v"), nil, &wr); err != nil {
		t.Fatalf("write after failing over: %v", err)
	}
}

// TestVerifyOnCluster runs verified workloads against a healthy cluster
// (they pass), then deletes keys behind the generator's back: the writes
// it had acknowledged are gone, and verification must fail naming them.
func TestVerifyOnCluster(t *testing.T) {
	t.Parallel()
	_, eps := startCluster(t)
	ctx := context.Background()
	d := newDynkv(t, DynkvOptions{Endpoints: eps})
	var gA *Generator
	for _, w := range []Workload{WorkloadA, WorkloadF, WorkloadWrite} {
		cfg := DefaultConfig()
		cfg.Workload, cfg.KeyPrefix = w, "verify-"+string(w)+"-"
		cfg.Keys, cfg.ValueSize, cfg.Concurrency = 100, 256, 16
		cfg.Duration, cfg.Ops, cfg.Preload, cfg.Verify = 0, 1500, true, true
		g, rep := run(t, cfg, d)
		if rep.Preload.Errors != 0 || rep.Run.Errors != 0 {
			t.Fatalf("%s: errors on a healthy cluster: preload %v, run %v", w, rep.Preload.ErrorsByKind, rep.Run.ErrorsByKind)
		}
		v, err := g.Verify(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !v.Passed || v.Present == 0 {
			t.Fatalf("%s: verify failed on a healthy cluster: %+v", w, v)
		}
		t.Logf("%s: %d writes acknowledged, %d present, %d superseded; %.1f%% of reads saw siblings",
			w, v.WritesAcknowledged, v.Present, v.Superseded, 100*rep.Run.SiblingShare)
		if w == WorkloadA {
			gA = g
		}
	}

	// The same through the SDK.
	sdk, err := NewDynkvSDK(DynkvOptions{Endpoints: eps})
	if err != nil {
		t.Fatal(err)
	}
	defer sdk.Close()
	cfg := DefaultConfig()
	cfg.Workload, cfg.KeyPrefix, cfg.Keys, cfg.ValueSize, cfg.Concurrency = WorkloadF, "verify-sdk-", 100, 256, 16
	cfg.Duration, cfg.Ops, cfg.Preload, cfg.Verify = 0, 1000, true, true
	g, rep := run(t, cfg, sdk)
	if v, err := g.Verify(ctx); err != nil || !v.Passed || rep.Run.Errors != 0 {
		t.Fatalf("through the SDK: run errors %v, verify %+v %v", rep.Run.ErrorsByKind, v, err)
	}

	deleted := map[string]bool{}
	for _, k := range []string{"verify-A-0", "verify-A-1", "verify-A-2"} {
		deleteBehindTheBack(t, eps[0], k)
		deleted[k] = true
	}
	v, err := gA.Verify(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v.Passed || v.Lost < 3 {
		t.Fatalf("verify passed after deleting three keys: %+v", v)
	}
	for _, l := range v.LostExamples {
		if !deleted[l.Key] {
			t.Errorf("write %s to %s reported lost; only %v were deleted", l.WriteID, l.Key, deleted)
		}
	}
}

// deleteBehindTheBack reads key and deletes what it read, as another
// client would.
func deleteBehindTheBack(t *testing.T, addr, key string) {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/kv/" + key)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	req, _ := http.NewRequest(http.MethodDelete, "http://"+addr+"/kv/"+key, nil)
	req.Header.Set(headerContext, resp.Header.Get(headerContext))
	dr, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	dr.Body.Close()
	if resp.StatusCode/100 != 2 && resp.StatusCode != http.StatusMultipleChoices || dr.StatusCode != http.StatusNoContent {
		t.Fatalf("delete %s: read %d, delete %d", key, resp.StatusCode, dr.StatusCode)
	}
}
