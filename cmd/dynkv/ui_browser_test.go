package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dynkv/dynkv/internal/browsertest"
)

// uiFailureBound is how soon after a kill the dashboard must mark the node
// suspect or failed: the fast gossip profile's failure detection (a probe
// every 200 ms, suspicion after about a second) plus one 2 s poll of the
// page, with room for a loaded two-core machine.
const uiFailureBound = 10 * time.Second

// uiPartitions is the test ring's size: few enough for the ring to show
// each partition.
const uiPartitions = 64

// TestDashboard drives /ui in headless Chromium against three real `dynkv
// serve` processes (N=2, so that two survivors are enough for a leave):
// the page shows three alive members and the ring; n3 killed with SIGKILL
// is shown suspect or failed within uiFailureBound, with the hints kept
// for it; n3 restarted is alive again with a new incarnation; then n2
// leaves and the page follows the handoff to 100 % and n2 to left.
// Screenshots of each stage go to $DYNKV_ARTIFACTS.
func TestDashboard(t *testing.T) {
	if testing.Short() && os.Getenv("CI") != "true" {
		t.Skip("a browser and three processes: skipped with -short outside CI")
	}
	t.Parallel()
	chromium := browsertest.FindChromium(t)
	shots := browsertest.ArtifactDir(t)
	shot := func(tab *browsertest.Tab, name string) {
		tab.Screenshot(filepath.Join(shots, "dashboard-"+name+".png"))
	}

	nodes := startServeCluster(t, "--n", "2", "--r", "1", "--w", "1", "--partitions", fmt.Sprint(uiPartitions))
	n1, n2, n3 := nodes[0], nodes[1], nodes[2]
	for i := range 1500 {
		mustPut(t, nodes[i%3].url, fmt.Sprintf("user-%04d", i), "profile")
	}
	stopLoad := dashboardLoad(t, n1.url)
	defer stopLoad()

	ctx, cancel := context.WithTimeout(context.Background(), 3*deadline)
	t.Cleanup(cancel)
	browser := browsertest.Start(t, ctx, chromium, 1366, 768)
	tab := browsertest.NewTab(t, browser, "dashboard", deadline)
	tab.Do("open the dashboard", chromedp.Navigate(n1.url+"/")) // / redirects to /ui
	tab.Wait("three alive members and the ring", fmt.Sprintf(
		`document.querySelectorAll("#members tr[data-status=alive][data-reachable=true]").length === 3 &&
		 document.querySelectorAll("#ring path").length === %d && document.querySelectorAll("#legend li").length === 3`, uiPartitions))
	tab.Wait("a few polls for the sparklines", `Number(document.body.dataset.polls) >= 5`)
	shot(tab, "1-healthy")
	incarnation := browsertest.Eval[string](tab, `document.querySelector("#members tr[data-node=n3]").dataset.incarnation`)

	killNode(t, n3)
	killed := time.Now()
	tab.Do("n3 shown suspect or failed", browsertest.WaitFor(
		`["suspect", "failed"].includes(document.querySelector("#members tr[data-node=n3]").dataset.status)`, uiFailureBound))
	t.Logf("the dashboard showed n3 %s %v after its kill", browsertest.Eval[string](tab,
		`document.querySelector("#members tr[data-node=n3]").dataset.status`), time.Since(killed).Round(100*time.Millisecond))
	tab.Wait("hints kept for n3", `document.querySelector("#hints tr[data-target=n3]") !== null`)
	tab.Wait("n3 failed", `document.querySelector("#members tr[data-node=n3]").dataset.status === "failed"`)
	shot(tab, "2-node-down")

	n3.start(t)
	tab.Wait("n3 back, with a new incarnation", fmt.Sprintf(
		`(r => r.dataset.status === "alive" && r.dataset.reachable === "true" && r.dataset.incarnation !== %q)(
		  document.querySelector("#members tr[data-node=n3]"))`, incarnation))

	if r, err := request("POST", n2.url+"/cluster/leave", ""); err != nil || r.status != 202 {
		t.Fatalf("POST /cluster/leave to n2: %v %+v", err, r)
	}
	followLeave(t, tab, shot)
}

// followLeave waits until the dashboard shows the handoff complete at
// 100 % and n2 left, taking a screenshot of the handoff in progress if a
// poll of the page caught it.
func followLeave(t *testing.T, tab *browsertest.Tab, shot func(*browsertest.Tab, string)) {
	t.Helper()
	const state = `(h => h.dataset.state + " " + h.dataset.percent)(document.querySelector("#handoffs"))`
	seen := map[string]bool{}
	waitFor(t, "the handoff of n2's leave shown complete at 100 % and n2 left", func() (bool, string) {
		s := browsertest.Eval[string](tab, state)
		phase, _, _ := strings.Cut(s, " ")
		if phase == "active" && !seen[phase] {
			shot(tab, "3-leaving")
		}
		seen[phase] = true
		left := browsertest.Eval[bool](tab, `document.querySelector("#members tr[data-node=n2]").dataset.status === "left"`)
		return s == "complete 100" && left, s + ", n2 left: " + fmt.Sprint(left)
	})
	t.Logf("handoff states the page went through: %v; it shows %q", seen, tab.Text("#handoffs"))
	shot(tab, "4-leave-complete")
}

// dashboardLoad reads and writes through base until stopped (or for at
// most 3*deadline), so that the page has operations to chart; errors are
// expected while nodes go down and are ignored.
func dashboardLoad(t *testing.T, base string) func() {
	ctx, cancel := context.WithTimeout(context.Background(), 3*deadline)
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			key := fmt.Sprintf("load-%03d", i%200)
			if i%4 == 0 {
				request("PUT", base+"/kv/"+key, "v")
			} else {
				request("GET", base+"/kv/"+key, "")
			}
		}
	})
	stop := func() { cancel(); wg.Wait() }
	t.Cleanup(stop)
	return stop
}

// TestDashboardSecured opens /ui on a secured cluster (TLS, tokens,
// mutual TLS between peers): the page loads without a token and asks for
// one; a read token is refused; with an admin token pasted into the page
// it shows the three members, each reached over the authenticated
// internode transport.
func TestDashboardSecured(t *testing.T) {
	if testing.Short() && os.Getenv("CI") != "true" {
		t.Skip("a browser and three processes: skipped with -short outside CI")
	}
	t.Parallel()
	chromium := browsertest.FindChromium(t)
	shots := browsertest.ArtifactDir(t)
	sec := makeSecureCluster(t, "n1", "n2", "n3")
	nodes := startSecureServeCluster(t, sec)
	waitSDKMembers(t, sec.client(t, sec.read, nodes[0]), map[string]string{"n1": "alive", "n2": "alive", "n3": "alive"})

	ctx, cancel := context.WithTimeout(context.Background(), 2*deadline)
	t.Cleanup(cancel)
	// The browser does not know the cluster's CA.
	browser := browsertest.Start(t, ctx, chromium, 1366, 768, chromedp.IgnoreCertErrors)
	tab := browsertest.NewTab(t, browser, "secured dashboard", deadline)
	tab.Do("open the dashboard", chromedp.Navigate(nodes[0].url+"/ui"))
	tab.Wait("the token dialog", `!document.querySelector("#token-dialog").hidden`)
	paste := func(token string) {
		tab.Do("paste a token", chromedp.SendKeys(chromedp.ID("token-input"), token), chromedp.Click(chromedp.ID("token-submit")))
	}
	paste(sec.read)
	tab.Wait("a read token refused", `!document.querySelector("#token-dialog").hidden &&
		document.querySelector("#token-why").textContent.includes("may not read")`)
	paste(sec.admin)
	tab.Wait("three alive members, each reachable", `document.querySelector("#token-dialog").hidden &&
		document.querySelectorAll("#members tr[data-status=alive][data-reachable=true]").length === 3`)
	if saw := browsertest.Eval[string](tab, `sessionStorage.getItem("dynkv.token")`); saw != sec.admin {
		t.Errorf("the page keeps %q in sessionStorage, want the admin token", saw)
	}
	tab.Screenshot(filepath.Join(shots, "dashboard-secured.png"))
}
