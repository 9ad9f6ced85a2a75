package main

import (
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
