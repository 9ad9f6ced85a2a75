package store

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The child process of TestUpdateDurableAfterKill is this test binary,
// started with these variables set.
const (
	killDirEnv  = "DYNKV_STORE_KILL_DIR"
	killSyncEnv = "DYNKV_STORE_KILL_SYNC"
)

// killValue is the value the child writes for key number i: sizes on both
// sides of ValueThreshold, so both the value log and the LSM tree's
// write-ahead log are tested.
func killValue(i int) []byte { return randomValue(uint64(i), 200+(i%2)*1800) }

// TestUpdateDurableAfterKill runs 64 writers in a child process, kills it
// with SIGKILL while they write, and checks that every Update the child saw
// return is in the store after reopening: group commit keeps the promise
// that a returned write survives a process kill.
func TestUpdateDurableAfterKill(t *testing.T) {
	if dir := os.Getenv(killDirEnv); dir != "" {
		killChild(dir, os.Getenv(killSyncEnv) == "true")
		return
	}
	// -short trims it on a developer's machine; CI always runs it.
	if testing.Short() && os.Getenv("CI") != "true" {
		t.Skip("starts a child process")
	}
	for _, synced := range []bool{false, true} {
		t.Run(fmt.Sprint("SyncWrites=", synced), func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command(os.Args[0], "-test.run=^TestUpdateDurableAfterKill$", "-test.count=1")
			cmd.Env = append(os.Environ(), killDirEnv+"="+dir, fmt.Sprint(killSyncEnv, "=", synced))
			cmd.Stderr = os.Stderr
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			acked := readAcks(t, cmd, bufio.NewScanner(out), 3000)
			checkAcked(t, Options{Dir: dir, SyncWrites: synced}, acked)
		})
	}
}

// readAcks reads the child's acknowledged key numbers, kills it once it has
// read kill of them, and returns all it acknowledged before dying.
func readAcks(t *testing.T, cmd *exec.Cmd, sc *bufio.Scanner, kill int) []int {
	t.Helper()
	var acked []int
	killed := false
	for sc.Scan() {
		i, err := strconv.Atoi(sc.Text())
		if err != nil {
			t.Fatalf("child said %q", sc.Text())
		}
		acked = append(acked, i)
		if len(acked) == kill && !killed {
			killed = true
			if err := cmd.Process.Kill(); err != nil { // SIGKILL
				t.Fatal(err)
			}
		}
	}
	err := cmd.Wait()
	if !killed || err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("child ended with %v after %d acks; want it killed", err, len(acked))
	}
	return acked
}

// checkAcked reopens the killed store and checks every acknowledged write.
func checkAcked(t *testing.T, opts Options, acked []int) {
	t.Helper()
	s, err := Open(opts)
	if err != nil {
		t.Fatalf("Open after kill: %v", err)
	}
	defer s.Close()
	for _, i := range acked {
		v, err := s.Get(uint16(i%64), killKey(i))
		if err != nil || !bytes.Equal(v, killValue(i)) {
			t.Fatalf("acknowledged write %d after kill: %d bytes, %v", i, len(v), err)
		}
	}
	t.Logf("%d acknowledged writes all there after SIGKILL", len(acked))
}

func killKey(i int) []byte { return fmt.Appendf(nil, "kill-%07d", i) }

// killChild writes from 64 goroutines, printing each key number once its
// Update has returned, until it is killed (or gives up after a minute).
func killChild(dir string, synced bool) {
	s, err := Open(Options{Dir: dir, SyncWrites: synced, MemTableSize: 1 << 20, ValueLogFileSize: 1 << 20})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var mu sync.Mutex
	w := bufio.NewWriter(os.Stdout)
	deadline := time.Now().Add(time.Minute)
	var wg sync.WaitGroup
	for g := range 64 {
		wg.Go(func() {
			for i := g; time.Now().Before(deadline); i += 64 {
				v := killValue(i)
				if err := s.Update(uint16(i%64), killKey(i), func([]byte, bool) ([]byte, error) { return v, nil }); err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(2)
				}
				mu.Lock()
				fmt.Fprintln(w, i)
				w.Flush() // acknowledged only once the parent can read it
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	os.Exit(3) // not killed in time
}
