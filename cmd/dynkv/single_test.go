package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

func TestSingleConfig(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		env     map[string]string
		single  bool
		open    bool
		wantErr string
	}{
		// As the container image runs it: everywhere, no token.
		{name: "image", env: map[string]string{"DYNKV_SINGLE": "auto", "DYNKV_HTTP_ADDR": "0.0.0.0:8080", "DYNKV_GOSSIP_ADDR": "0.0.0.0:7946"}, single: true, open: true},
		{name: "flag alone", args: []string{"--single"}, single: true},
		{name: "auto with --join is a cluster node", args: []string{"--single=auto", "--join", "10.0.0.2:7946"}},
		{name: "off", args: []string{"--single=false", "--http-addr", "0.0.0.0:8080"}, wantErr: "set --advertise-http-addr"},
		{name: "tokens close it", args: []string{"--single", "--http-addr", "0.0.0.0:8080", "--tokens-file", "TOKENS"}, single: true},
		{name: "join", args: []string{"--single", "--join", "10.0.0.2:7946"}, wantErr: "--join has no use"},
		{name: "advertised gossip", args: []string{"--single", "--advertise-gossip-addr", "10.0.0.1:7946"}, wantErr: "--advertise-gossip-addr has no use"},
		{name: "quorum of two", args: []string{"--single", "--w", "2"}, wantErr: "--w 2 cannot be met by one node"},
		{name: "bad mode", args: []string{"--single=maybe"}, wantErr: "want true, false or auto"},
	} {
		dir := t.TempDir()
		for i, a := range tc.args {
			if a == "TOKENS" {
				tc.args[i] = filepath.Join(dir, "tokens")
				mustCLI(t, nil, "token", "create", "app", "--role", "write", "--tokens-file", tc.args[i])
			}
		}
		cfg, err := newServeCmd().config(append([]string{"--data-dir", dir}, tc.args...), envMap(tc.env))
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: err %v; want %q", tc.name, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if (cfg.single != nil) != tc.single {
			t.Errorf("%s: single = %v; want %v", tc.name, cfg.single != nil, tc.single)
			continue
		}
		if !tc.single {
			continue
		}
		n, s := cfg.node, cfg.serf
		if n.NodeID != "n1" {
			t.Errorf("%s: node id %q; want n1, not the host name (a new container's would not open the volume)", tc.name, n.NodeID)
		}
		if cfg.single.open != tc.open || n.R != 1 || n.W != 1 || n.Ring.N != 3 {
			t.Errorf("%s: open=%v R=%d W=%d N=%d; want open=%v R=W=1 N=3", tc.name, cfg.single.open, n.R, n.W, n.Ring.N, tc.open)
		}
		if !isLoopback(s.BindAddr) || !isLoopback(n.InternodeAddr) || !isLoopback(s.HTTPAddr) {
			t.Errorf("%s: gossip %s, internode %s, advertised %s; want all on loopback", tc.name, s.BindAddr, n.InternodeAddr, s.HTTPAddr)
		}
	}
}

// TestSingleNodeServe runs `dynkv serve` as the container image does —
// DYNKV_SINGLE=auto, no --join, gossip on every interface asked for — but
// with the client API on loopback: one node, writable alone, that says so
// first and keeps gossip on loopback.
func TestSingleNodeServe(t *testing.T) {
	t.Parallel()
	ports := freePorts(t, 2)
	base := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	p := startProc(t, "single", []string{"DYNKV_SINGLE=auto", fmt.Sprintf("DYNKV_GOSSIP_ADDR=0.0.0.0:%d", ports[1])},
		"serve", "--node-id", "s1", "--data-dir", filepath.Join(t.TempDir(), "s1"), "--http-addr", fmt.Sprintf("127.0.0.1:%d", ports[0]))
	putEventually(t, base, "greeting", "hello")
	mustGet(t, base, "greeting", "hello")

	first, _, _ := strings.Cut(p.stderr.String(), "\n")
	if !strings.Contains(first, "single node") || !strings.Contains(first, "r=1 w=1") {
		t.Errorf("first log line %q; want it to announce a single node with r=1 w=1", first)
	}
	if strings.Contains(p.stderr.String(), "CLIENT API IS OPEN") {
		t.Error("a single node on loopback warns that its API is open")
	}
	r, err := request("GET", base+"/cluster/members", "")
	if want := fmt.Sprintf(`"gossip_addr":"127.0.0.1:%d"`, ports[1]); err != nil || !strings.Contains(r.body, want) {
		t.Errorf("members %q (%v); want %s", r.body, err, want)
	}
}
