package loadtest

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// nopDriver answers every read with one value and every write with a
// token, allocating nothing.
type nopDriver struct{ value, token []byte }

func (d *nopDriver) Name() string                    { return "nop" }
func (d *nopDriver) Causal() bool                    { return true }
func (d *nopDriver) Check(ctx context.Context) error { return nil }
func (d *nopDriver) Close() error                    { return nil }
func (d *nopDriver) NewClient(int) (Client, error)   { return d, nil }
func (d *nopDriver) Read(ctx context.Context, key []byte, res *ReadResult) error {
	res.Found, res.Values, res.Token = true, append(res.Values[:0], d.value), append(res.Token[:0], d.token...)
	return nil
}
func (d *nopDriver) Write(ctx context.Context, key, value, token []byte, res *WriteResult) error {
	res.Token = append(res.Token[:0], d.token...)
	return nil
}

// TestWorkerAllocs: the generator's own work per operation — key choice,
// value, cached context, histogram — allocates nothing once warm, with or
// without the verification ledger (which grows by amortised appends).
func TestWorkerAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	for _, verify := range []bool{false, true} {
		cfg := testConfig(WorkloadA)
		cfg.Concurrency, cfg.Verify = 1, verify
		g, err := New(cfg, &nopDriver{value: make([]byte, 64), token: []byte("a-causal-context-token")})
		if err != nil {
			t.Fatal(err)
		}
		if err := g.startWorkers(); err != nil {
			t.Fatal(err)
		}
		w := g.workers[0]
		w.shard = newStats(1).shardFor(0)
		ctx := context.Background()
		ops := func() {
			k := uint32(w.keys.next())
			w.read(ctx, k, time.Time{})
			w.write(ctx, k, opUpdate, time.Time{}, true)
			w.rmw(ctx, k, time.Time{})
		}
		for range 2 * cfg.Keys { // warm: every key cached, histograms made
			ops()
		}
		w.ledger.recs = make([]writeRec, 0, 1<<16)
		w.ledger.parents = make([]uint64, 0, 1<<17)
		if n := testing.AllocsPerRun(1000, ops); n > 0 {
			t.Errorf("verify=%v: %.1f allocations per read+update+rmw, want 0", verify, n)
		}
	}
}

// TestDynkvClientAllocs: the fasthttp driver's read and write allocate
// nothing per request once warm (siblings and errors aside).
func TestDynkvClientAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: func(rc *fasthttp.RequestCtx) {
		rc.Response.Header.Set(headerContext, "AQEPbjEuMWEyNjhjYTI3NTRlAQA")
		if rc.IsPut() {
			rc.SetStatusCode(fasthttp.StatusNoContent)
			return
		}
		rc.SetBodyString("a value")
	}}
	go srv.Serve(l)
	defer srv.Shutdown()
	d, err := NewDynkv(DynkvOptions{Endpoints: []string{l.Addr().String()}, R: "2", W: "quorum"})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	cl, _ := d.NewClient(0)
	defer cl.Close()
	ctx := context.Background()
	var rr ReadResult
	var wr WriteResult
	key, value := []byte("user123"), make([]byte, 1024)
	ops := func() {
		if err := cl.Read(ctx, key, &rr); err != nil || len(rr.Values) != 1 {
			t.Fatalf("read: %v", err)
		}
		if err := cl.Write(ctx, key, value, rr.Token, &wr); err != nil {
			t.Fatalf("write: %v", err)
		}
	}
	ops()
	if n := testing.AllocsPerRun(200, ops); n > 0 {
		t.Errorf("%.1f allocations per read+write (server included), want 0", n)
	}
}
