package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestCLIBuckets runs the bucket commands and --bucket against a cluster:
// props set and read back, keys apart from the default bucket's and
// written with the bucket's default TTL, a listing of the bucket alone,
// a key's placement by its bucket's N, and a backup of the bucket restored
// into another one.
func TestCLIBuckets(t *testing.T) {
	t.Parallel()
	_, eps := cliCluster(t)
	env := []string{"DYNKV_ENDPOINTS=" + eps}
	out := mustCLI(t, env, "bucket", "set", "carts", "--ttl", "1h", "--conflict", "lww")
	if !strings.Contains(out, "default ttl 1h0m0s") || !strings.Contains(out, "conflict lww") {
		t.Errorf("bucket set: %s", out)
	}
	var props struct {
		Bucket string         `json:"bucket"`
		Props  map[string]any `json:"props"`
	}
	if err := json.Unmarshal([]byte(mustCLI(t, env, "bucket", "get", "carts", "-o", "json")), &props); err != nil ||
		props.Bucket != "carts" || props.Props["default_ttl"] != "1h0m0s" || props.Props["conflict"] != "lww" {
		t.Errorf("bucket get -o json: %+v, %v", props, err)
	}
	if list := mustCLI(t, env, "bucket", "list"); !strings.Contains(list, "carts") || !strings.Contains(list, "default") {
		t.Errorf("bucket list:\n%s", list)
	}
	cli(t, "", env, "bucket", "set", "carts", "--n", "2", "--r", "3").failsWith(t, 1, "bad_props")
	checkBucketPlacement(t, env)

	mustCLI(t, env, "put", "cart/1", "mug", "--bucket", "carts")
	if got := mustCLI(t, env, "get", "cart/1", "--bucket", "carts", "-o", "raw"); got != "mug" {
		t.Errorf("get in the bucket: %q", got)
	}
	cli(t, "", env, "get", "cart/1").failsWith(t, 1, "not_found")
	mustCLI(t, env, "put", "other", "x") // the default bucket's
	inBucket := []string{env[0], "DYNKV_BUCKET=carts"}
	var got getJSON
	if err := json.Unmarshal([]byte(mustCLI(t, inBucket, "get", "cart/1", "-o", "json")), &got); err != nil ||
		len(got.Siblings) != 1 || got.Siblings[0].Expires.IsZero() {
		t.Errorf("get with DYNKV_BUCKET: %+v, %v; want one value that expires (the bucket's default TTL)", got, err)
	}
	if ls := mustCLI(t, inBucket, "ls"); ls != "cart/1\n" {
		t.Errorf("ls of the bucket: %q", ls)
	}

	file := filepath.Join(t.TempDir(), "carts.bak")
	if out := mustCLI(t, inBucket, "backup", "--out", file); !strings.Contains(out, "backed up 1 keys of bucket carts") {
		t.Errorf("backup: %s", out)
	}
	if out := mustCLI(t, env, "restore", file, "--bucket", "carts-copy"); !strings.Contains(out, "restored 1 keys into bucket carts-copy") {
		t.Errorf("restore --bucket: %s", out)
	}
	if got := mustCLI(t, env, "get", "cart/1", "--bucket", "carts-copy", "-o", "raw"); got != "mug" {
		t.Errorf("get in the restored bucket: %q", got)
	}
	mustCLI(t, inBucket, "delete", "cart/1")
	if out := mustCLI(t, env, "restore", file); !strings.Contains(out, "into bucket carts") {
		t.Errorf("restore into the recorded bucket: %s", out)
	}
	// The delete came after the backup: the restore does not undo it.
	cli(t, "", inBucket, "get", "cart/1").failsWith(t, 1, "not_found")
}

// checkBucketPlacement sets an N=2 bucket and waits for every node to have
// it, then checks that dynkv ring shows its placement: one key's, and the
// whole layout's, with preference lists of 2.
func checkBucketPlacement(t *testing.T, env []string) {
	t.Helper()
	if out := mustCLI(t, env, "bucket", "set", "pairs", "--n", "2", "--wait"); !strings.Contains(out, "set; all 3 alive members have it") {
		t.Errorf("bucket set --wait: %s", out)
	}
	var where struct {
		Bucket         string   `json:"bucket"`
		N              int      `json:"n"`
		PreferenceList []string `json:"preference_list"`
	}
	if err := json.Unmarshal([]byte(mustCLI(t, env, "ring", "--key", "cart/1", "--bucket", "pairs", "-o", "json")), &where); err != nil ||
		where.Bucket != "pairs" || where.N != 2 || len(where.PreferenceList) != 2 {
		t.Errorf("ring --key --bucket pairs -o json: %+v, %v; want the bucket's 2 replicas", where, err)
	}
	if out := mustCLI(t, env, "ring", "--key", "cart/1", "--bucket", "pairs"); !strings.Contains(out, "pairs (N=2)") {
		t.Errorf("ring --key --bucket pairs:\n%s", out)
	}
	var layout struct {
		Bucket          string `json:"bucket"`
		N               int    `json:"n"`
		PreferenceLists []struct {
			PreferenceList []string `json:"preference_list"`
		} `json:"preference_lists"`
	}
	if err := json.Unmarshal([]byte(mustCLI(t, env, "ring", "--bucket", "pairs", "-o", "json")), &layout); err != nil ||
		layout.Bucket != "pairs" || layout.N != 2 || len(layout.PreferenceLists) == 0 || len(layout.PreferenceLists[0].PreferenceList) != 2 {
		t.Errorf("ring --bucket pairs -o json: %+v, %v; want preference lists of 2", layout, err)
	}
	if out := mustCLI(t, env, "ring", "--bucket", "pairs"); !strings.HasPrefix(out, "bucket pairs: 256 partitions, N=2, 3 members\n") {
		t.Errorf("ring --bucket pairs:\n%s", out)
	}
}
