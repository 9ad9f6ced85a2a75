package main

import (
	"strings"
	"testing"
)

// TestDeleteMissingKey: deleting what is not there succeeds and says so,
// like redis-cli DEL and etcdctl del; --strict makes it an error.
func TestDeleteMissingKey(t *testing.T) {
	_, eps := cliCluster(t)
	env := []string{"DYNKV_ENDPOINTS=" + eps}
	r := cli(t, "", env, "delete", "nosuch").ok(t)
	if !strings.HasPrefix(r.stdout, `deleted nothing: "nosuch" does not exist (served by n`) {
		t.Errorf("delete nosuch printed %q", r.stdout)
	}
	if r := cli(t, "", env, "delete", "nosuch", "-o", "json").ok(t); !strings.Contains(r.stdout, `"deleted": false`) {
		t.Errorf("delete nosuch -o json printed %q", r.stdout)
	}
	cli(t, "", env, "delete", "nosuch", "--strict").failsWith(t, 1, `dynkv delete: "nosuch" does not exist, nothing deleted: not found (--strict)`)
	cli(t, "", env, "put", "k", "v").ok(t)
	if r := cli(t, "", env, "delete", "k", "--strict").ok(t); !strings.HasPrefix(r.stdout, `deleted "k"`) {
		t.Errorf("delete k --strict printed %q", r.stdout)
	}
}

// TestLeaveRemoveNeedYesWithoutTerminal: with stdin not a terminal and no
// --yes, leave and remove refuse at once (exit 2) and change nothing.
func TestLeaveRemoveNeedYesWithoutTerminal(t *testing.T) {
	_, eps := cliCluster(t)
	env := []string{"DYNKV_ENDPOINTS=" + eps, "DYNKV_YES=true", "DYNKV_LEAVE_YES=true"}
	cli(t, "y\n", env, "leave", "--node", "n2").failsWith(t, 2,
		"will not make n2 leave the cluster for good without confirmation: stdin is not a terminal; pass --yes")
	cli(t, "", env, "remove", "n3").failsWith(t, 2, "will not remove n3 from the cluster for good without confirmation")
	out := cli(t, "", env, "members").ok(t).stdout
	if strings.Count(out, " alive") != 3 {
		t.Errorf("members after the refusals:\n%s\nwant all three alive", out)
	}
}
