package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dynkv/dynkv/client"
	"github.com/dynkv/dynkv/internal/browsertest"
)

// tab is one browser session on the shop.
type tab struct{ *browsertest.Tab }

// waitFor polls a JavaScript condition in the page until it holds.
func waitFor(cond string) chromedp.Action[chromedp.Void] {
	return browsertest.WaitFor(cond, testDeadline)
}

// click presses a button and waits until the page has rendered the
// answer (its render count moved and no request is in flight).
func (b *tab) click(id string) {
	b.T.Helper()
	before := browsertest.Eval[string](b.Tab, `document.body.dataset.renders`)
	b.Do("click #"+id,
		chromedp.Click(chromedp.ID(id)),
		waitFor(fmt.Sprintf(`document.body.dataset.renders !== %q && !document.body.dataset.busy`, before)))
	b.noError()
}

func (b *tab) open(u string) {
	b.T.Helper()
	b.Do("open "+u, chromedp.Navigate(u), chromedp.WaitVisible(chromedp.ID("cart-total")),
		waitFor(`document.body.dataset.renders !== "0"`))
	b.noError()
}

func (b *tab) noError() {
	b.T.Helper()
	if msg := b.Text("#error"); msg != "" {
		b.T.Fatalf("%s shows an error: %s", b.Name, msg)
	}
}

// items lists the products in the cart as the page shows them.
func (b *tab) items() []string {
	b.T.Helper()
	return browsertest.Eval[[]string](b.Tab, `[...document.querySelectorAll("#cart-items li")].map(li => li.dataset.product)`)
}

func (b *tab) expect(what string, want ...string) {
	b.T.Helper()
	if got := b.items(); !slices.Equal(got, want) {
		b.T.Fatalf("%s, %s shows %v, want %v", what, b.Name, got, want)
	}
}

// TestBrowserConcurrentCarts drives two real browser sessions (headless
// Chromium) on one cart while the node the shop uses is killed. Each page
// changes the cart without having seen the other's last change, so their
// writes are concurrent: dynkv keeps both as siblings and the shop merges
// them. After the node is back, both pages show both sessions' additions,
// and the removal of the mug has not been undone by the concurrent
// addition of the pear by a page that still held the mug.
func TestBrowserConcurrentCarts(t *testing.T) {
	t.Parallel()
	t.Run("plain", func(t *testing.T) { browserConcurrentCarts(t, nil) })
	// The same against a secured cluster: TLS between the nodes and to the
	// shop's client, which sends a write token.
	t.Run("secured", func(t *testing.T) { browserConcurrentCarts(t, newTestSecurity(t, 3)) })
}

func browserConcurrentCarts(t *testing.T, sec *testSecurity) {
	chromium := browsertest.FindChromium(t)
	artifacts := browsertest.ArtifactDir(t)
	shot := func(name string) string { return screenshotPath(artifacts, name, sec != nil) }
	ts := startShopWith(t, sec)

	ctx, cancel := context.WithTimeout(context.Background(), 3*testDeadline)
	t.Cleanup(cancel)
	browser := browsertest.Start(t, ctx, chromium, 1200, 820)
	// Two sessions: separate browser contexts, as two people (or a normal
	// and a private window) would have.
	newTab := func(name string) *tab { return &tab{browsertest.NewTab(t, browser, name, testDeadline)} }
	alice, bob := newTab("session A"), newTab("session B")
	const cart = "shared-cart"
	cartURL := ts.url + "/?cart=" + cart

	alice.open(cartURL)
	alice.click("add-mug")
	alice.expect("after adding the mug", "mug")
	bob.open(cartURL)
	bob.expect("on opening the cart", "mug")
	if served := bob.Text("#served"); !strings.Contains(served, "n1") {
		t.Errorf("before the kill the shop should use n1; page says %q", served)
	}
	// The shop's token (write) cannot set the carts bucket's TTL on the
	// secured cluster: the page says what the bucket has.
	wantExpiry := "Carts expire after 7 days of inactivity"
	if sec != nil {
		wantExpiry = "Carts do not expire"
	}
	if expiry := bob.Text("#expiry"); !strings.Contains(expiry, wantExpiry) {
		t.Errorf("the page says %q about expiry; want %q", expiry, wantExpiry)
	}

	// The shop's client sticks to n1: kill it. With N=3 and W=2 the two
	// survivors still make a quorum.
	ts.cluster.Kill(0)

	alice.click("add-apple")
	alice.expect("after adding the apple with n1 down", "mug", "apple")
	if served := alice.Text("#served"); strings.Contains(served, "n1") || !strings.Contains(served, "read on") {
		t.Errorf("with n1 down the page says it was served by %q", served)
	}
	bob.click("add-tee") // bob has not seen the apple: a concurrent write
	bob.expect("after adding the tee concurrently", "mug", "apple", "tee")
	notice := bob.Text("#notice")
	if !strings.Contains(notice, "returned 2 siblings") || !strings.Contains(notice, "Quorum T-shirt") {
		t.Errorf("bob's page does not report the merge of 2 siblings: %q", notice)
	}
	bob.Screenshot(shot("siblings-merged"))

	bob.click("remove-mug")
	bob.expect("after removing the mug", "apple", "tee")
	alice.click("add-pear") // alice still holds the mug and has not seen its removal
	alice.expect("after adding the pear concurrently with the removal", "apple", "pear", "tee")
	if notice := alice.Text("#notice"); !strings.Contains(notice, "Dynamo mug") || !strings.Contains(notice, "returned 2 siblings") {
		t.Errorf("alice's notice should show the sibling still holding the mug: %q", notice)
	}

	// Heal: n1 comes back on its address. Both pages, reloaded, show the
	// same cart.
	if err := ts.cluster.Restart(0); err != nil {
		t.Fatal(err)
	}
	for _, b := range []*tab{alice, bob} {
		b.open(cartURL)
		b.expect("after healing", "apple", "pear", "tee")
		if notice := b.Text("#notice"); notice != "" {
			t.Errorf("%s: a read after the merges still found siblings: %q", b.Name, notice)
		}
	}
	if total := bob.Text("#cart-total"); total != "$27.30" {
		t.Errorf("total %q, want $27.30 (apple 1.50 + pear 1.80 + tee 24.00)", total)
	}
	waitReplicated(t, ts, cart, []string{"apple", "pear", "tee"})
	bob.Screenshot(shot("healed"))
}

// waitReplicated waits until n1's own copy of the cart (read with
// /admin/local, no quorum) holds want: the node that was down has caught
// up. Reads with R=all make every replica answer, so read repair reaches
// n1 even if nothing else does.
func waitReplicated(t *testing.T, ts *testShop, cart string, want []string) {
	t.Helper()
	end := time.Now().Add(testDeadline)
	var last string
	for time.Now().Before(end) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		ts.kv.Get(ctx, cartKey(cart), client.R(client.All))
		cancel()
		got, err := localCart(ts, cartKey(cart))
		if err == nil && slices.Equal(got, want) {
			return
		}
		last = fmt.Sprintf("%v %v", got, err)
		time.Sleep(50 * time.Millisecond) // polling interval
	}
	t.Errorf("n1 did not catch up within %v: its copy holds %s, want %v", testDeadline, last, want)
}

// localCart reads n1's own copy of a cart and merges its siblings.
func localCart(ts *testShop, key string) ([]string, error) {
	resp, err := ts.admin.Get(ts.endpoints[0] + "/admin/local/" + url.PathEscape(key) + "?bucket=" + cartsBucket)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Siblings []struct {
			Value   []byte `json:"value"`
			Deleted bool   `json:"deleted"`
		} `json:"siblings"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, err
	}
	var sets []*ORSet
	for _, s := range body.Siblings {
		if s.Deleted {
			continue
		}
		set, err := DecodeORSet(s.Value)
		if err != nil {
			return nil, err
		}
		sets = append(sets, set)
	}
	if len(sets) == 0 {
		return nil, errors.New("no live copy")
	}
	return MergeORSets(sets...).Elements(), nil
}

// screenshotPath names a screenshot of the run, secured or not.
func screenshotPath(dir, name string, secured bool) string {
	if secured {
		name += "-secured"
	}
	return filepath.Join(dir, "shoppingcart-"+name+".png")
}
