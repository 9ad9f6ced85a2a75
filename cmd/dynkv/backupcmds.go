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
		"Write every live key of a bucket (--bucket), with all its siblings and its causal\n"+
			"context, to a new backup FILE that records the bucket (mode 0600; an existing file is\n"+
			"never replaced), while the cluster serves. Keys are listed page by page (dynkv ls)\n"+
			"and each key's state read with a quorum; a key written during the backup is in it\n"+
			"as it was when read. Needs an admin token on a secured cluster. Progress, with the\n"+
			"time left once the listing has gone some way, goes to stderr once a second.")
	c.defaultTimeout("24h")
	var out, prefix, bucket string
	c.f.StringVar(&out, "out", "", "the backup `file` to write")
	c.f.StringVar(&prefix, "prefix", "", "back up only keys starting with `PREFIX`")
	bucketFlag(c.f, &bucket)
	return c.run(args, stdout, stderr, lookupEnv, [2]int{0, 0}, func(ctx context.Context, cl *sdk.Client, _ []string) error {
		if out == "" {
			return usageError{errors.New("--out is required")}
		}
		f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return fmt.Errorf("create the backup file: %w", err)
		}
		p := newTransfer(stderr, "backup")
		n, err := writeBackup(ctx, cl.Bucket(bucket), f, prefix, p)
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
		_, err = fmt.Fprintf(stdout, "backed up %d keys of bucket %s (%s) to %s in %v\n", n, bucket, humanBytes(p.bytes()), out, p.elapsed())
		return err
	})
}

func writeBackup(ctx context.Context, cl *sdk.Bucket, f io.Writer, prefix string, p *transfer) (uint64, error) {
	w, err := backup.NewWriter(f, time.Now(), cl.Name())
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
		if page.Partitions > 0 {
			p.setFraction(float64(page.PartitionsDone) / float64(page.Partitions))
		}
		if page.Next == "" {
			return w.Count(), w.Close()
		}
		after = page.Next
	}
}

func runRestore(args []string, stdin io.Reader, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	c := newKVCmd("restore", "dynkv restore FILE [flags]",
		"Merge a backup FILE (dynkv backup) into the bucket it records, or --bucket: each key's\n"+
			"siblings and context are merged by causality with what the bucket holds, so nothing\n"+
			"in the backup is lost and nothing written since is overwritten; into an empty bucket\n"+
			"it gives back every sibling set as it was. A damaged or cut-short file is refused at\n"+
			"the first bad byte, whose offset is printed; nothing past it is restored. Restoring\n"+
			"twice changes nothing more. Backups from before buckets restore into the default\n"+
			"bucket. Needs an admin token on a secured cluster. Progress, with the time left,\n"+
			"goes to stderr once a second.")
	c.defaultTimeout("24h")
	var into string
	c.f.Var(bucketValue{&into}, "bucket", "restore into this `bucket` instead of the one the backup records")
	c.f.defaultText["bucket"] = "the backup's (default for a backup from before buckets)"
	// A variable left exported must not send every later restore elsewhere.
	c.f.commandLineOnly["bucket"] = true
	return c.run(args, stdout, stderr, lookupEnv, [2]int{1, 1}, func(ctx context.Context, cl *sdk.Client, pos []string) error {
		f, err := os.Open(pos[0])
		if err != nil {
			return fmt.Errorf("open the backup: %w", err)
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			return fmt.Errorf("open the backup: %w", err)
		}
		p := newTransfer(stderr, "restore")
		n, bucket, err := restoreBackup(ctx, cl, into, &readProgress{r: f, size: fi.Size(), p: p}, p)
		p.stop()
		if err != nil {
			return fmt.Errorf("restored %d keys, then: %w", n, err)
		}
		_, err = fmt.Fprintf(stdout, "restored %d keys into bucket %s (%s) from %s in %v\n", n, bucket, humanBytes(p.bytes()), pos[0], p.elapsed())
		return err
	})
}

// restoreBackup merges the file's records into bucket into, or the one the
// file records, a batch at a time; a damaged record ends it after the
// batch before it. It returns the keys merged and the bucket.
func restoreBackup(ctx context.Context, cl *sdk.Client, into string, f io.Reader, p *transfer) (int, string, error) {
	r, err := backup.NewReader(f)
	if err != nil {
		return 0, "", err
	}
	if into == "" {
		into = r.Bucket
	}
	n, err := restoreRecords(ctx, cl.Bucket(into), r, p)
	return n, into, err
}

func restoreRecords(ctx context.Context, b *sdk.Bucket, r *backup.Reader, p *transfer) (int, error) {
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
		err := forEach(len(keys), func(i int) error { return b.MergeSet(ctx, keys[i], sets[i]) })
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

// readProgress tells p how much of a file of size bytes has been read.
type readProgress struct {
	r    io.Reader
	size int64
	read int64
	p    *transfer
}

func (rp *readProgress) Read(b []byte) (int, error) {
	n, err := rp.r.Read(b)
	rp.read += int64(n)
	if rp.size > 0 {
		rp.p.setFraction(float64(rp.read) / float64(rp.size))
	}
	return n, err
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

// transfer prints a line a second: keys, bytes, rate and, once the
// command knows how far it has come (setFraction), the time left.
type transfer struct {
	mu       sync.Mutex
	keys     int
	n        int64
	fraction float64 // of the whole job done; 0 while unknown
	start    time.Time
	done     chan struct{}
	ended    sync.WaitGroup
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
				fmt.Fprintln(w, p.line(what, time.Since(p.start)))
			}
		}
	})
	return p
}

// line is the progress line el after the start. The time left assumes the
// rest goes at the pace so far.
func (p *transfer) line(what string, el time.Duration) string {
	p.mu.Lock()
	keys, n, f := p.keys, p.n, p.fraction
	p.mu.Unlock()
	sec := el.Seconds()
	s := fmt.Sprintf("%s: %d keys, %s, %.0f keys/s, %.1f MiB/s", what, keys, humanBytes(n), float64(keys)/sec, float64(n)/sec/(1<<20))
	if f > 0 && f < 1 {
		left := time.Duration(float64(el) * (1 - f) / f)
		s += fmt.Sprintf(", %.0f %% done, about %v left", 100*f, left.Round(time.Second))
	}
	return s
}

// setFraction records how much of the whole job is done, 0..1.
func (p *transfer) setFraction(f float64) {
	p.mu.Lock()
	p.fraction = min(max(f, 0), 1)
	p.mu.Unlock()
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
