package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	sdk "github.com/dynkv/dynkv/client"
)

// Backup a cluster with siblings and deletes, restore into an empty one:
// every key's whole state comes back byte for byte and deleted keys stay
// gone; restoring into the first cluster after newer writes overwrites
// none of them; a damaged file is refused with its offset.
func TestBackupRestore(t *testing.T) {
	t.Parallel()
	_, eps1 := cliCluster(t)
	_, eps2 := cliCluster(t)
	env1, env2 := []string{"DYNKV_ENDPOINTS=" + eps1}, []string{"DYNKV_ENDPOINTS=" + eps2}
	c1, c2 := sdkClient(t, eps1), sdkClient(t, eps2)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var keys []string
	for i := range 300 {
		k := fmt.Sprintf("bk/%03d", i)
		keys = append(keys, k)
		if _, err := c1.Put(ctx, k, []byte("v"+k), sdk.CausalContext{}); err != nil {
			t.Fatal(err)
		}
		if i%10 == 0 { // a concurrent second write: two siblings
			if _, err := c1.Put(ctx, k, []byte("w"+k), sdk.CausalContext{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	deleted := map[string]bool{}
	for i := 5; i < 300; i += 25 {
		res, err := c1.Get(ctx, keys[i])
		if err == nil {
			err = c1.Delete(ctx, keys[i], res.Context)
		}
		if err != nil {
			t.Fatal(err)
		}
		deleted[keys[i]] = true
	}
	file := filepath.Join(t.TempDir(), "cluster.bak")
	out := mustCLI(t, env1, "backup", "--out", file)
	if want := fmt.Sprintf("backed up %d keys", len(keys)-len(deleted)); !strings.Contains(out, want) {
		t.Fatalf("backup said %q; want %q", out, want)
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v %v; want mode 0600", fi, err)
	}
	mustCLI(t, env2, "restore", file)
	for _, k := range keys {
		want, err1 := c1.RawSet(ctx, k)
		got, err2 := c2.RawSet(ctx, k)
		switch {
		case deleted[k]:
			if !errors.Is(err2, sdk.ErrNotFound) {
				t.Fatalf("%s was deleted before the backup; restored cluster: %v", k, err2)
			}
		case err1 != nil || err2 != nil || !bytes.Equal(got, want):
			t.Fatalf("%s: restored state differs (%v, %v)", k, err1, err2)
		}
	}

	// Newer writes survive a restore of older state.
	res, err := c1.Get(ctx, keys[1])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c1.Put(ctx, keys[1], []byte("newer"), res.Context); err != nil {
		t.Fatal(err)
	}
	mustCLI(t, env1, "restore", file)
	if res, err := c1.Get(ctx, keys[1]); err != nil || len(res.Siblings) != 1 || string(res.Siblings[0].Value) != "newer" {
		t.Fatalf("after restoring older state over a newer write: %+v %v", res, err)
	}

	b, _ := os.ReadFile(file)
	b[len(b)/2] ^= 0xff
	damaged := filepath.Join(t.TempDir(), "damaged.bak")
	os.WriteFile(damaged, b, 0o600)
	if r := cli(t, "", env2, "restore", damaged); r.code != 1 || !strings.Contains(r.stderr, "damaged at byte") {
		t.Fatalf("restore of a damaged file: exit %d, %q", r.code, r.stderr)
	}
	if r := cli(t, "", env1, "backup", "--out", file); r.code != 1 {
		t.Fatalf("backup over an existing file: exit %d; want 1", r.code)
	}
}

func sdkClient(t *testing.T, eps string) *sdk.Client {
	t.Helper()
	c, err := sdk.New(strings.Split(eps, ","))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// The progress line shows the time left once the command knows how far it
// has come, and only then.
func TestTransferLine(t *testing.T) {
	p := &transfer{keys: 500, n: 5 << 20}
	if got := p.line("backup", 10*time.Second); got != "backup: 500 keys, 5.0 MiB, 50 keys/s, 0.5 MiB/s" {
		t.Errorf("unknown progress: %q", got)
	}
	p.setFraction(0.25)
	if got := p.line("backup", 10*time.Second); !strings.HasSuffix(got, ", 25 % done, about 30s left") {
		t.Errorf("a quarter done in 10 s: %q", got)
	}
	p.setFraction(1)
	if got := p.line("backup", 10*time.Second); strings.Contains(got, "left") {
		t.Errorf("all done: %q", got)
	}
}
