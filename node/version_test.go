package node

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/dynkv/dynkv/internal/buildinfo"
)

// /version and dynkv_build_info name the same build as buildinfo.Get
// (cmd/dynkv's TestVersionAgrees checks a binary stamped with -ldflags).
func TestVersionRouteAndBuildInfo(t *testing.T) {
	c := startCluster(t, LocalClusterOptions{Nodes: 3, HTTP: true})
	addr, want := c.Addr(0), buildinfo.Get()

	res := do(t, "GET", addr, "/version", nil)
	var got VersionResponse
	if err := json.Unmarshal(res.body, &got); res.status != http.StatusOK || err != nil {
		t.Fatalf("GET /version: %d %s (%v)", res.status, res.body, err)
	}
	if got.Node != "n1" || got.Info != want {
		t.Fatalf("GET /version = %+v; want node n1 and %+v", got, want)
	}
	if res := do(t, "POST", addr, "/version", nil); res.status != http.StatusMethodNotAllowed {
		t.Fatalf("POST /version: %d; want 405", res.status)
	}

	metrics := string(do(t, "GET", addr, "/metrics", nil).body)
	info := fmt.Sprintf(`dynkv_build_info{commit=%q,goversion=%q,version=%q} 1`, want.Commit, want.GoVersion, want.Version)
	if !strings.Contains(metrics, info+"\n") {
		t.Errorf("/metrics lacks %s", info)
	}
	for _, name := range []string{"dynkv_store_bytes", "dynkv_store_lsm_bytes", "dynkv_store_vlog_bytes", "dynkv_store_keys_approx"} {
		if !regexp.MustCompile(`(?m)^` + name + ` \d`).MatchString(metrics) {
			t.Errorf("/metrics lacks the gauge %s", name)
		}
	}
}

// Before any hint, every other member has its hint series at 0, so that
// alerts and rate() see a value from the start; the node itself has none.
func TestHintSeriesExistBeforeAnyHint(t *testing.T) {
	c := startCluster(t, LocalClusterOptions{Nodes: 3, HTTP: true})
	metrics := string(do(t, "GET", c.Addr(0), "/metrics", nil).body)
	for _, target := range []string{"n2", "n3"} {
		for _, series := range []string{"dynkv_hints_pending", "dynkv_hints_delivered_total", "dynkv_hints_redirected_total"} {
			if want := fmt.Sprintf("%s{target=%q} 0\n", series, target); !strings.Contains(metrics, want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
	}
	if strings.Contains(metrics, `dynkv_hints_pending{target="n1"}`) {
		t.Error("a node shows hints for itself")
	}
}
