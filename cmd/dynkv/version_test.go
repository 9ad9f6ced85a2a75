package main

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dynkv/dynkv/internal/buildinfo"
	"github.com/dynkv/dynkv/node"
)

// TestVersionAgrees builds the binary as `make build` does, stamping a
// version and commit with -ldflags -X, and checks that `dynkv version`,
// GET /version and dynkv_build_info all name them.
func TestVersionAgrees(t *testing.T) {
	t.Parallel()
	const version, commit = "v0.0.0-test", "0123456789abcdef0123456789abcdef01234567"
	bin := filepath.Join(t.TempDir(), "dynkv")
	pkg := "github.com/dynkv/dynkv/internal/buildinfo"
	build := exec.Command("go", "build", "-o", bin,
		"-ldflags", fmt.Sprintf("-X %s.version=%s -X %s.commit=%s", pkg, version, pkg, commit), ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	out, err := exec.Command(bin, "version", "-o", "json").Output()
	var cli buildinfo.Info
	if err != nil || json.Unmarshal(out, &cli) != nil || cli.Version != version || cli.Commit != commit || cli.GoVersion == "" {
		t.Fatalf("dynkv version -o json = %q (%v); want version %s, commit %s", out, err, version, commit)
	}
	if text, err := exec.Command(bin, "version").Output(); err != nil || !strings.Contains(string(text), "commit "+commit) {
		t.Errorf("dynkv version = %q (%v); want it to name commit %s", text, err, commit)
	}

	ports := freePorts(t, 2)
	base := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	startProcOf(t, bin, "stamped", nil, "serve", "--single", "--node-id", "v1", "--data-dir", filepath.Join(t.TempDir(), "v1"),
		"--http-addr", fmt.Sprintf("127.0.0.1:%d", ports[0]), "--gossip-addr", fmt.Sprintf("127.0.0.1:%d", ports[1]))

	var served node.VersionResponse
	waitFor(t, "GET /version", func() (bool, string) {
		r, err := request("GET", base+"/version", "")
		return err == nil && r.status == 200 && json.Unmarshal([]byte(r.body), &served) == nil, fmt.Sprint(r, err)
	})
	if served.Node != "v1" || served.Info != cli {
		t.Errorf("GET /version = %+v; want node v1 and %+v", served, cli)
	}
	r, err := request("GET", base+"/metrics", "")
	want := fmt.Sprintf(`dynkv_build_info{commit=%q,goversion=%q,version=%q} 1`, commit, cli.GoVersion, version)
	if err != nil || !strings.Contains(r.body, want+"\n") {
		t.Errorf("/metrics lacks %s (%v)", want, err)
	}
}
