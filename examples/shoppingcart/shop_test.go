package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dynkv/dynkv/client"
	"github.com/dynkv/dynkv/node"
)

const testDeadline = 60 * time.Second

// freePorts returns n loopback TCP ports that were free a moment ago, so
// that a restarted node can come back on its old address.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	var held []net.Listener
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range held {
		l.Close()
	}
	return ports
}

// testShop runs a 3-node cluster (HTTP on fixed loopback ports, so a
// killed node restarts where the client expects it) and the shop on top.
type testShop struct {
	cluster   *node.LocalCluster
	endpoints []string
	kv        *client.Client
	url       string
	admin     *http.Client  // reaches the nodes' /admin routes
	log       *lockedBuffer // what the shop logged
	shop      *Shop
}

// shopExpiry is what the page says about carts' expiry.
func (ts *testShop) shopExpiry() string { return ts.shop.expiry.text() }

// lockedBuffer is a log destination safe for the shop's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func startShop(t *testing.T) *testShop { return startShopWith(t, nil) }

func startShopWith(t *testing.T, sec *testSecurity) *testShop {
	t.Helper()
	ports := freePorts(t, 3)
	cl, err := node.StartLocalCluster(node.LocalClusterOptions{
		Nodes: 3, Dir: t.TempDir(), HTTP: true,
		Configure: func(i int, c *node.Config) {
			c.HTTPAddr = fmt.Sprintf("127.0.0.1:%d", ports[i])
			if sec != nil {
				c.Security = sec.node(i)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := cl.Close(); err != nil {
			t.Errorf("close cluster: %v", err)
		}
	})
	ts := &testShop{cluster: cl, admin: http.DefaultClient}
	scheme, opts := "http://", []client.Option(nil)
	if sec != nil {
		scheme, opts, ts.admin = "https://", sec.clientOptions(t), sec.adminClient(t)
	}
	for i := range 3 {
		ts.endpoints = append(ts.endpoints, scheme+cl.Addr(i))
	}
	if ts.kv, err = client.New(ts.endpoints, opts...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ts.kv.Close() })
	ts.log = &lockedBuffer{}
	ctx, cancel := context.WithTimeout(context.Background(), testDeadline)
	defer cancel()
	shop, err := NewShop(ctx, ts.kv, slog.New(slog.NewTextHandler(ts.log, nil)), defaultCartTTL)
	if err != nil {
		t.Fatal(err)
	}
	ts.shop = shop
	srv := httptest.NewServer(shop)
	t.Cleanup(srv.Close)
	ts.url = srv.URL
	return ts
}

// page is an API-level stand-in for a browser tab: the view it last got.
type page struct {
	t    *testing.T
	shop *testShop
	cart string
	view cartView
}

func (ts *testShop) open(t *testing.T, cart string) *page {
	p := &page{t: t, shop: ts, cart: cart}
	p.do(http.MethodGet, "/api/cart?cart="+cart, nil)
	return p
}

func (p *page) do(method, path string, body any) {
	p.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, p.shop.url+path, r)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		p.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	var v cartView
	if err := json.Unmarshal(b, &v); err != nil {
		p.t.Fatalf("%s %s: %v in %s", method, path, err, b)
	}
	p.view = v
}

func (p *page) change(op, product string) {
	p.t.Helper()
	p.do(http.MethodPost, "/api/cart/"+op, changeRequest{Cart: p.cart, Product: product, Context: p.view.Context, State: p.view.State})
}

func (p *page) items() []string {
	var ids []string
	for _, it := range p.view.Items {
		ids = append(ids, it.ID)
	}
	return ids
}

func (p *page) nodes() []string {
	var ns []string
	for _, s := range p.view.Steps {
		ns = append(ns, s.Node)
	}
	return ns
}

// TestShopConcurrentPages plays the browser scenario through the JSON API:
// two pages change one cart without seeing each other's changes, with a
// node down; concurrent adds are both kept, a removal is not undone by a
// concurrent add of another item, and the read that met siblings reports
// them.
func TestShopConcurrentPages(t *testing.T) {
	t.Parallel()
	ts := startShop(t)
	a := ts.open(t, "shared")
	a.change("add", "mug")
	b := ts.open(t, "shared")
	if !slices.Equal(b.items(), []string{"mug"}) {
		t.Fatalf("b sees %v", b.items())
	}

	ts.cluster.Kill(0)
	a.change("add", "apple")
	if a.view.Merge != nil || slices.Contains(a.nodes(), "n1") {
		t.Errorf("a's add: merge %+v, nodes %v", a.view.Merge, a.nodes())
	}
	b.change("add", "tee") // b has not seen apple: a sibling
	if got := b.items(); !slices.Equal(got, []string{"mug", "apple", "tee"}) {
		t.Errorf("b after its concurrent add sees %v", got)
	}
	if b.view.Merge == nil || len(b.view.Merge.Siblings) != 2 {
		t.Fatalf("b's read did not report the 2 siblings: %+v", b.view.Merge)
	}
	b.change("remove", "mug")
	a.change("add", "pear") // a still holds mug, and has not seen the removal
	want := []string{"apple", "pear", "tee"}
	if got := a.items(); !slices.Equal(got, want) {
		t.Errorf("a after adding pear concurrently with the removal of mug: %v, want %v", got, want)
	}
	if a.view.Merge == nil || !slices.Contains(a.view.Merge.Siblings[0], "Dynamo mug") && !slices.Contains(a.view.Merge.Siblings[1], "Dynamo mug") {
		t.Errorf("a's merge should show a sibling still holding the mug: %+v", a.view.Merge)
	}

	if err := ts.cluster.Restart(0); err != nil {
		t.Fatal(err)
	}
	for _, p := range []*page{a, b} {
		p.do(http.MethodGet, "/api/cart?cart=shared", nil)
		if got := p.items(); !slices.Equal(got, want) {
			t.Errorf("after healing a page sees %v, want %v", got, want)
		}
	}
}

// TestShopRequests checks the page, the assets and refusals of bad input.
func TestShopRequests(t *testing.T) {
	t.Parallel()
	ts := startShop(t)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(ts.url + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/?cart=") || len(resp.Cookies()) != 1 {
		t.Fatalf("GET /: %d, Location %q, cookies %v", resp.StatusCode, loc, resp.Cookies())
	}

	get := func(path string) (int, string) {
		resp, err := http.Get(ts.url + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := get(loc)
	if code != 200 || !strings.Contains(body, `id="add-mug"`) || !strings.Contains(body, `"view":{`) || !strings.Contains(body, "$12.00") {
		t.Errorf("page: %d\n%s", code, body)
	}
	for _, asset := range []string{"/static/app.js", "/static/style.css"} {
		if code, _ := get(asset); code != 200 {
			t.Errorf("%s: %d", asset, code)
		}
	}
	if code, _ := get("/api/cart?cart=../etc"); code != 400 {
		t.Errorf("bad cart id: %d", code)
	}
	post := func(path, body string) int {
		resp, err := http.Post(ts.url+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for body, want := range map[string]int{
		`{"cart":"c","product":"unicorn"}`:                       400,
		`{"cart":"c","product":"mug","state":{"adds":[]}}`:       400,
		`{"cart":"c","product":"mug","context":"not a token!"}`:  400,
		`{"cart":"","product":"mug"}`:                            400,
		`not json`:                                               400,
		`{"cart":"c","product":"mug","context":"","state":null}`: 200,
	} {
		if got := post("/api/cart/add", body); got != want {
			t.Errorf("add %s: %d, want %d", body, got, want)
		}
	}
	if got := post("/api/cart/steal", `{}`); got != 404 {
		t.Errorf("unknown operation: %d", got)
	}
}

// TestShopUnavailable: with two of three nodes down a change cannot reach
// W=2 and the page gets a 503 with the reason.
func TestShopUnavailable(t *testing.T) {
	t.Parallel()
	ts := startShop(t)
	ts.cluster.Kill(0)
	ts.cluster.Kill(1)
	resp, err := http.Post(ts.url+"/api/cart/add", "application/json", strings.NewReader(`{"cart":"c","product":"mug"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(b), "quorum_unavailable") {
		t.Errorf("%d %s", resp.StatusCode, b)
	}
}

// TestShopCartsBucket: the shop gives the carts bucket its default TTL,
// says so on the page, and keeps carts there, each write starting the TTL
// again.
func TestShopCartsBucket(t *testing.T) {
	t.Parallel()
	ts := startShop(t)
	ctx, cancel := context.WithTimeout(context.Background(), testDeadline)
	defer cancel()
	info, err := ts.kv.BucketProps(ctx, cartsBucket)
	if err != nil || info.Props.DefaultTTL != defaultCartTTL || info.Version == nil {
		t.Fatalf("the carts bucket after the shop started: %+v, %v", info, err)
	}
	if !strings.Contains(ts.log.String(), "carts bucket ready") {
		t.Errorf("the shop's log does not say the bucket is ready:\n%s", ts.log)
	}
	resp, err := http.Get(ts.url + "/?cart=ttl")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "Carts expire after 7 days of inactivity") {
		t.Errorf("the page does not say when carts expire:\n%s", body)
	}
	p := ts.open(t, "ttl")
	before := time.Now()
	p.change("add", "mug")
	res, err := ts.kv.Bucket(cartsBucket).Get(ctx, cartKey("ttl"))
	if err != nil || len(res.Siblings) != 1 {
		t.Fatalf("the cart in the carts bucket: %+v, %v", res, err)
	}
	if exp := res.Siblings[0].Expires; exp.Before(before.Add(defaultCartTTL-time.Minute)) || exp.After(time.Now().Add(defaultCartTTL+time.Minute)) {
		t.Errorf("the cart expires at %v; want 7 days after the write", exp)
	}
	if _, err := ts.kv.Get(ctx, cartKey("ttl")); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("the cart is in the default bucket too: %v", err)
	}
	for d, want := range map[time.Duration]string{
		defaultCartTTL: "7 days", 24 * time.Hour: "1 day", 90 * time.Minute: "90 minutes", 2 * time.Hour: "2 hours", 1500 * time.Millisecond: "1.5s",
	} {
		if got := humanDuration(d); got != want {
			t.Errorf("humanDuration(%v) = %q, want %q", d, got, want)
		}
	}
}
