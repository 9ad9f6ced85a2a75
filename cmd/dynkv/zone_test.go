package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// TestServeZone: --zone, or DYNKV_ZONE, reaches the node's configuration;
// a zone a tag could not carry safely is refused.
func TestServeZone(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{nil, nil, ""},
		{[]string{"--zone", "eu-west-1a"}, nil, "eu-west-1a"},
		{nil, map[string]string{"DYNKV_ZONE": "rack7"}, "rack7"},
		{[]string{"--zone", "rack1"}, map[string]string{"DYNKV_ZONE": "rack7"}, "rack1"},
	} {
		cfg, err := newServeCmd().config(append([]string{"--node-id", "a1"}, tc.args...), envMap(tc.env))
		if err != nil || cfg.node.Zone != tc.want {
			t.Errorf("%q %v: zone %q, %v; want %q", tc.args, tc.env, cfg.node.Zone, err, tc.want)
		}
	}
	for _, bad := range []string{"eu west", "-a", "a/b", strings.Repeat("z", 129)} {
		if _, err := newServeCmd().config([]string{"--node-id", "a1", "--zone", bad}, envMap(nil)); err == nil || !strings.Contains(err.Error(), "zone") {
			t.Errorf("--zone %q: error %v, want one naming the zone", bad, err)
		}
	}
}

// TestRingShowsZones: three serve processes in zones a, b and c (one set
// by DYNKV_ZONE) gossip their zones; /cluster/members shows the tag,
// /cluster/ring and `dynkv ring` every member's zone, and every preference
// list holds one node of each zone.
func TestRingShowsZones(t *testing.T) {
	dir, ports := t.TempDir(), freePorts(t, 6)
	n1 := newServeNode(t, dir, "n1", ports[0], ports[1], "--zone", "a")
	n2 := newServeNode(t, dir, "n2", ports[2], ports[3], "--join", n1.gossip, "--zone", "b")
	n3 := newServeNode(t, dir, "n3", ports[4], ports[5], "--join", n1.gossip)
	n1.start(t)
	waitMembers(t, n1.url, map[string]string{"n1": "alive"})
	n2.start(t)
	n3.p = startProc(t, n3.id, []string{"DYNKV_ZONE=c"}, n3.args...)
	eps := n1.url + "," + n2.url + "," + n3.url
	waitFor(t, "n1 to see three members in three zones", func() (bool, string) {
		r := cli(t, "", nil, "ring", "--endpoints", n1.url, "-o", "json")
		var ring struct{ Zones map[string]string }
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &ring) != nil {
			return false, r.stderr
		}
		return fmt.Sprint(ring.Zones) == "map[n1:a n2:b n3:c]", fmt.Sprint(ring.Zones)
	})

	var ms []struct {
		ID   string
		Tags map[string]string
	}
	if err := json.Unmarshal([]byte(cli(t, "", nil, "members", "--endpoints", eps, "-o", "json").ok(t).stdout), &ms); err != nil || len(ms) != 3 || ms[2].Tags["zone"] != "c" {
		t.Errorf("members -o json: %v %+v", err, ms)
	}
	out := cli(t, "", nil, "ring", "--endpoints", eps).ok(t).stdout
	if !strings.HasPrefix(out, "256 partitions, N=3, 3 members, 3 zones\n") || !strings.Contains(out, "ZONE") {
		t.Errorf("dynkv ring:\n%s", out)
	}
	zoneOf := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) == 5 {
			zoneOf[f[0]] = f[1]
		}
	}
	if fmt.Sprint(zoneOf) != "map[NODE:ZONE n1:a n2:b n3:c]" {
		t.Errorf("dynkv ring rows: zones %v:\n%s", zoneOf, out)
	}
	key := cli(t, "", nil, "ring", "--endpoints", eps, "--key", "greeting").ok(t).stdout
	for _, label := range []string{"n1(a)", "n2(b)", "n3(c)"} {
		if !strings.Contains(key, label) {
			t.Errorf("dynkv ring --key lacks %s:\n%s", label, key)
		}
	}
	parts := cli(t, "", nil, "ring", "--endpoints", eps, "--partitions").ok(t).stdout
	if rows := strings.Count(parts, "n1(a)"); rows != 256 {
		t.Errorf("n1(a) in %d of 256 preference lists:\n%s", rows, parts)
	}
}
