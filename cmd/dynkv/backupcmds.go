package main

// dynkv backup and dynkv restore, over the SDK: the file format is package
// backup's; what a restore does to each key is a merge (client.MergeSet).

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/dynkv/dynkv/backup"
	sdk "github.com/dynkv/dynkv/client"
)

// backupWorkers is how many keys' states are read or merged at once.
const backupWorkers = 16

func runBackup(args []string, stdin io.Reader, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	c := newKVCmd("backup", "dynkv backup --out FILE [flags]",
		"Write every live key of the cluster, with all its siblings and its causal context, to\n"+
			"a new backup FILE (mode 0600; an existing file is never replaced), while the cluster\n"+
			"serves. Keys are listed page by page (dynkv ls) and each key's state read with a\n"+
			"quorum; a key written during the backup is in it as it was when read. Needs an admin\n"+
			"token on a secured cluster. Progress goes to stderr once a second.")
	c.defaultTimeout("24h")
	var out, prefix string
	c.f.StringVar(&out, "out", "", "the backup `file` to write")
	c.f.StringVar(&prefix, "prefix", "", "back up only keys starting with `PREFIX`")
	return c.run(args, stdout, stderr, lookupEnv, [2]int{0, 0}, func(ctx context.Context, cl *sdk.Client, _ []string) error {
		if out == "" {
			return usageError{errors.New("--out is required")}
		}
		f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return fmt.Errorf("create the backup file: %w", err)
		}
		p := newTransfer(stderr, "backup")
		n, err := writeBackup(ctx, cl, f, prefix, p)
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		p.stop()
		if err != nil {
			os.Remove(out)
			return err
		}
		_, err = fmt.Fprintf(stdout, "backed up %d keys (%s) to %s in %v\n", n, humanBytes(p.bytes()), out, p.elapsed())
		return err
	})
}

func writeBackup(ctx context.Context, cl *sdk.Client, f io.Writer, prefix string, p *transfer) (uint64, error) {
	w, err := backup.NewWriter(f, time.Now())
	if err != nil {
		return 0, err
	}
	for after := ""; ; {
		page, err := cl.List(ctx, prefix, after, 1000)
		if err != nil {
			return 0, err
		}
		sets := make([][]byte, len(page.Keys))
		err = forEach(len(page.Keys), func(i int) error {
			s, err := cl.RawSet(ctx, page.Keys[i])
			if errors.Is(err, sdk.ErrNotFound) {
				return nil // deleted since it was listed
			}
			sets[i] = s
			return err
		})
		if err != nil {
			return 0, err
		}
		for i, s := range sets {
			if s == nil {
				continue
			}
			if err := w.Add([]byte(page.Keys[i]), s); err != nil {
				return 0, err
			}
			p.add(len(page.Keys[i]) + len(s))
		}
		if page.Next == "" {
			return w.Count(), w.Close()
		}
		after = page.Next
	}
}

func runRestore(args []string, stdin io.Reader, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	c := newKVCmd("restore", "dynkv restore FILE [flags]",
		"Merge a backup FILE (dynkv backup) into the cluster: each key's siblings and context\n"+
			"are merged by causality with what the cluster holds, so nothing in the backup is\n"+
			"lost and nothing written since is overwritten; into an empty cluster it gives back\n"+
			"every sibling set as it was. A damaged or cut-short file is refused at the first bad\n"+
			"byte, whose offset is printed; nothing past it is restored. Restoring twice changes\n"+
			"nothing more. Needs an admin token on a secured cluster.")
	c.defaultTimeout("24h")
	return c.run(args, stdout, stderr, lookupEnv, [2]int{1, 1}, func(ctx context.Context, cl *sdk.Client, pos []string) error {
		f, err := os.Open(pos[0])
		if err != nil {
			return fmt.Errorf("open the backup: %w", err)
		}
		defer f.Close()
		p := newTransfer(stderr, "restore")
		n, err := restoreBackup(ctx, cl, f, p)
		p.stop()
		if err != nil {
			return fmt.Errorf("restored %d keys, then: %w", n, err)
		}
		_, err = fmt.Fprintf(stdout, "restored %d keys (%s) from %s in %v\n", n, humanBytes(p.bytes()), pos[0], p.elapsed())
		return err
	})
}

// restoreBackup merges the file's records a batch at a time; a damaged
// record ends it after the batch before it.
func restoreBackup(ctx context.Context, cl *sdk.Client, f io.Reader, p *transfer) (int, error) {
	r, err := backup.NewReader(f)
	if err != nil {
		return 0, err
	}
	n := 0
	for {
		var keys []string
		var sets [][]byte
		var readErr error
		for len(keys) < 256 {
			k, s, err := r.Next()
			if err != nil {
				readErr = err
				break
			}
			keys, sets = append(keys, string(k)), append(sets, s)
		}
		err := forEach(len(keys), func(i int) error { return cl.MergeSet(ctx, keys[i], sets[i]) })
		if err != nil {
			return n, err
		}
		for i := range keys {
			p.add(len(keys[i]) + len(sets[i]))
		}
		n += len(keys)
		if errors.Is(readErr, io.EOF) {
			return n, nil
		}
		if readErr != nil {
			return n, readErr
		}
	}
}

// forEach runs fn(0..n-1) on backupWorkers goroutines and returns the first
// error.
func forEach(n int, fn func(i int) error) error {
	var wg sync.WaitGroup
	errs := make([]error, n)
	sem := make(chan struct{}, backupWorkers)
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			errs[i] = fn(i)
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// transfer prints a line a second: keys, bytes and rate.
type transfer struct {
	mu    sync.Mutex
	keys  int
	n     int64
	start time.Time
	done  chan struct{}
	ended sync.WaitGroup
}

func newTransfer(w io.Writer, what string) *transfer {
	p := &transfer{start: time.Now(), done: make(chan struct{})}
	p.ended.Go(func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-p.done:
				return
			case <-t.C:
				p.mu.Lock()
				keys, n := p.keys, p.n
				p.mu.Unlock()
				el := time.Since(p.start).Seconds()
				fmt.Fprintf(w, "%s: %d keys, %s, %.0f keys/s, %.1f MiB/s\n", what, keys, humanBytes(n), float64(keys)/el, float64(n)/el/(1<<20))
			}
		}
	})
	return p
}

func (p *transfer) add(bytes int) {
	p.mu.Lock()
	p.keys++
	p.n += int64(bytes)
	p.mu.Unlock()
}

func (p *transfer) bytes() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

func (p *transfer) elapsed() time.Duration { return time.Since(p.start).Round(time.Millisecond) }

func (p *transfer) stop() { close(p.done); p.ended.Wait() }
