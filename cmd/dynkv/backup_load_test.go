package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dynkv/dynkv/backup"
)

// TestBackupRestoreUnderLoad backs up a three-process cluster holding 100k
// keys while a verifying load writes to them, checks the load lost nothing,
// then restores the file into a new, empty cluster and checks every key of
// it against the file: its whole state back, byte for byte.
func TestBackupRestoreUnderLoad(t *testing.T) {
	if testing.Short() && os.Getenv("CI") != "true" {
		t.Skip("preloads 100k keys into two three-process clusters")
	}
	urls := func(nodes []*serveNode) string {
		var eps []string
		for _, n := range nodes {
			eps = append(eps, n.url)
		}
		return strings.Join(eps, ",")
	}
	first := startThreeServe(t)
	// loadtest's --endpoints may name Redis servers: its own variable.
	env := []string{"DYNKV_ENDPOINTS=" + urls(first), "DYNKV_LOADTEST_ENDPOINTS=" + urls(first)}
	mustCLI(t, env, "loadtest", "--preload", "--duration", "0", "--keys", fmt.Sprint(lsKeys),
		"--key-prefix", "bk", "--value-size", "1KiB", "--concurrency", "32")

	load := startProc(t, "loadtest", env, "loadtest", "--keys", fmt.Sprint(lsKeys), "--key-prefix", "bk",
		"--value-size", "1KiB", "--concurrency", "8", "--rate", "300", "--duration", "12s", "--verify", "--json")
	file := filepath.Join(t.TempDir(), "cluster.bak")
	start := time.Now()
	mustCLI(t, env, "backup", "--out", file)
	backupTime := time.Since(start)
	if code := load.wait(t); code != 0 {
		t.Fatalf("the load during the backup: exit %d:\n%s", code, tail(load.stderr.String(), 2000))
	}
	checkNothingFailedOrLost(t, load.stdout.String())
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}

	second := startServeCluster(t) // the wiped cluster: new, empty
	env2 := []string{"DYNKV_ENDPOINTS=" + urls(second)}
	start = time.Now()
	mustCLI(t, env2, "restore", file)
	restoreTime := time.Since(start)

	cl := sdkClient(t, urls(second))
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := backup.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	n := 0
	for ; ; n++ {
		k, want, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if n%20 != 0 { // every 20th key: 5,000 reads
			continue
		}
		got, err := cl.RawSet(ctx, string(k))
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("key %q after restore: %v, state equal: %v", k, err, bytes.Equal(got, want))
		}
	}
	if n < lsKeys {
		t.Fatalf("the backup holds %d keys; want all %d", n, lsKeys)
	}
	t.Logf("backup of %d keys (%.1f MiB) under a write load: %v (%.0f keys/s); restore into an empty cluster: %v (%.0f keys/s)",
		n, float64(fi.Size())/(1<<20), backupTime.Round(time.Millisecond), float64(n)/backupTime.Seconds(),
		restoreTime.Round(time.Millisecond), float64(n)/restoreTime.Seconds())
}
