package loadtest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// VerifyReport is what Verify found. Passed is false when any
// acknowledged write was lost, any value was corrupt, or any key could not
// be read.
type VerifyReport struct {
	Passed         bool    `json:"passed"`
	ElapsedSeconds float64 `json:"elapsed_seconds"`
	// Writes the run attempted and those the store acknowledged.
	WritesAttempted    int64 `json:"writes_attempted"`
	WritesAcknowledged int64 `json:"writes_acknowledged"`
	KeysChecked        int64 `json:"keys_checked"`
	// Every acknowledged write is present, superseded or lost.
	Present    int64 `json:"present"`
	Superseded int64 `json:"superseded"`
	Lost       int64 `json:"lost"`
	// Values with this run's header whose body or id is wrong; values
	// another run or writer made (not checked).
	CorruptValues  int64 `json:"corrupt_values"`
	ForeignValues  int64 `json:"foreign_values"`
	KeysUnreadable int64 `json:"keys_unreadable"`
	// The first few problems, for a human to look at.
	LostExamples       []LostWrite `json:"lost_examples,omitempty"`
	UnreadableExamples []string    `json:"unreadable_examples,omitempty"`
}

// LostWrite names an acknowledged write the store no longer holds.
type LostWrite struct {
	Key     string `json:"key"`
	WriteID string `json:"write_id"` // worker.sequence
}

const maxExamples = 10

// verifyReadAttempts bounds the reads of one key before it counts as
// unreadable.
const verifyReadAttempts = 3

// Verify reads back every key the run wrote and checks that every
// acknowledged write is still held, as a value or a sibling, or was
// superseded by a write whose context observed it (see the package
// documentation). Call it after Run, on a Generator configured with
// Verify. The error is for a check that could not run; a failed check is
// a report with Passed false.
func (g *Generator) Verify(ctx context.Context) (*VerifyReport, error) {
	if !g.cfg.Verify {
		return nil, errors.New("loadtest: Verify needs Config.Verify")
	}
	if g.workers == nil {
		return nil, errors.New("loadtest: Verify needs a Run first")
	}
	start := time.Now()
	rep := &VerifyReport{}
	jobs := g.verifyJobs(rep)
	var done atomic.Int64
	finished, err := g.startCheckers(ctx, jobs, rep, &done)
	if err != nil {
		return nil, err
	}
	g.verifyProgress(start, finished, &done, len(jobs))
	<-finished
	rep.ElapsedSeconds = time.Since(start).Seconds()
	rep.Passed = rep.Lost == 0 && rep.CorruptValues == 0 && rep.KeysUnreadable == 0 &&
		rep.KeysChecked == int64(len(jobs))
	return rep, ctx.Err()
}

// verifyJob is one key to check and the ids of its acknowledged writes, in
// ascending order.
type verifyJob struct {
	key uint32
	ids []uint64
}

// verifyJobs gathers the acknowledged writes from every worker's ledger,
// counting the attempted and acknowledged ones into rep, and groups them
// by key, in key order.
func (g *Generator) verifyJobs(rep *VerifyReport) []verifyJob {
	type ref struct {
		key uint32
		id  uint64
	}
	var refs []ref
	for _, w := range g.workers {
		rep.WritesAttempted += int64(len(w.ledger.recs))
		for seq, r := range w.ledger.recs {
			if r.acked {
				refs = append(refs, ref{r.key, makeID(w.id, seq)})
			}
		}
	}
	rep.WritesAcknowledged = int64(len(refs))
	slices.SortFunc(refs, func(a, b ref) int {
		return cmp.Or(cmp.Compare(a.key, b.key), cmp.Compare(a.id, b.id))
	})
	var jobs []verifyJob
	for i := 0; i < len(refs); {
		j := i
		ids := []uint64{}
		for ; j < len(refs) && refs[j].key == refs[i].key; j++ {
			ids = append(ids, refs[j].id)
		}
		jobs = append(jobs, verifyJob{refs[i].key, ids})
		i = j
	}
	return jobs
}

// startCheckers starts the checkers, one client each, at most one per
// client of the run and per job. They take the jobs in turn until none is
// left or ctx is done, each counting into done and merging what it found
// into rep as it stops; the channel is closed once all have stopped.
func (g *Generator) startCheckers(ctx context.Context, jobs []verifyJob, rep *VerifyReport, done *atomic.Int64) (<-chan struct{}, error) {
	var (
		mu   sync.Mutex
		next atomic.Int64
		wg   sync.WaitGroup
	)
	checkers := min(g.cfg.Concurrency, max(1, len(jobs)))
	for i := range checkers {
		c, err := g.driver.NewClient(i)
		if err != nil {
			return nil, fmt.Errorf("client %d: %w", i, err)
		}
		wg.Go(func() {
			defer c.Close()
			var mine VerifyReport
			chk := checker{g: g, c: c, rep: &mine}
			for ctx.Err() == nil {
				n := next.Add(1) - 1
				if n >= int64(len(jobs)) {
					break
				}
				chk.check(ctx, jobs[n].key, jobs[n].ids)
				done.Add(1)
			}
			mu.Lock()
			rep.merge(&mine)
			mu.Unlock()
		})
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	return finished, nil
}

// verifyProgress prints, once per ProgressInterval until finished is
// closed, how many of the total keys are checked; without Progress it
// returns at once.
func (g *Generator) verifyProgress(start time.Time, finished <-chan struct{}, done *atomic.Int64, total int) {
	if g.cfg.Progress == nil {
		return
	}
	t := time.NewTicker(g.cfg.ProgressInterval)
	defer t.Stop()
	for {
		select {
		case <-finished:
			return
		case now := <-t.C:
			fmt.Fprintf(g.cfg.Progress, "[verify %5.1fs] %d of %d keys checked\n", now.Sub(start).Seconds(), done.Load(), total)
		}
	}
}

func (r *VerifyReport) merge(o *VerifyReport) {
	r.KeysChecked += o.KeysChecked
	r.Present += o.Present
	r.Superseded += o.Superseded
	r.Lost += o.Lost
	r.CorruptValues += o.CorruptValues
	r.ForeignValues += o.ForeignValues
	r.KeysUnreadable += o.KeysUnreadable
	r.LostExamples = append(r.LostExamples, o.LostExamples...)[:min(maxExamples, len(r.LostExamples)+len(o.LostExamples))]
	r.UnreadableExamples = append(r.UnreadableExamples, o.UnreadableExamples...)[:min(maxExamples, len(r.UnreadableExamples)+len(o.UnreadableExamples))]
}

// checker verifies keys through one client.
type checker struct {
	g       *Generator
	c       Client
	rep     *VerifyReport
	res     ReadResult
	key     []byte
	scratch []byte
	present map[uint64]bool
	reached map[uint64]bool
	stack   []uint64
}

// check reads key k and accounts for each of its acknowledged writes.
func (c *checker) check(ctx context.Context, k uint32, acked []uint64) {
	g := c.g
	c.key = appendKey(c.key[:0], g.cfg.KeyPrefix, uint64(k))
	var err error
	for attempt := range verifyReadAttempts {
		if err = c.c.Read(ctx, c.key, &c.res); err == nil || ctx.Err() != nil {
			break
		}
		select { // a short pause: a node may be restarting
		case <-ctx.Done():
		case <-time.After(time.Duration(attempt+1) * 100 * time.Millisecond):
		}
	}
	if err != nil {
		c.rep.KeysUnreadable++
		if len(c.rep.UnreadableExamples) < maxExamples {
			c.rep.UnreadableExamples = append(c.rep.UnreadableExamples, fmt.Sprintf("%s: %v", c.key, err))
		}
		return
	}
	c.rep.KeysChecked++
	if c.present == nil {
		c.present, c.reached = map[uint64]bool{}, map[uint64]bool{}
	}
	clear(c.present)
	clear(c.reached)
	c.stack = c.stack[:0]
	for _, v := range c.res.Values {
		id, ok := valueID(v, g.nonce)
		if !ok {
			c.rep.ForeignValues++
			continue
		}
		if !g.wrote(id, k) {
			c.rep.CorruptValues++
			continue
		}
		var intact bool
		if c.scratch, intact = bodyIntact(v, g.nonce, id, c.scratch); !intact {
			c.rep.CorruptValues++
			continue
		}
		c.present[id] = true
		c.stack = append(c.stack, id)
	}
	// Everything a present version's context observed, transitively.
	for len(c.stack) > 0 {
		id := c.stack[len(c.stack)-1]
		c.stack = c.stack[:len(c.stack)-1]
		if c.reached[id] {
			continue
		}
		c.reached[id] = true
		w, seq := splitID(id)
		for _, p := range g.workers[w].ledger.parentsOf(seq) {
			if g.wrote(p, k) && !c.reached[p] {
				c.stack = append(c.stack, p)
			}
		}
	}
	for _, id := range acked {
		switch {
		case c.present[id]:
			c.rep.Present++
		case c.reached[id]:
			c.rep.Superseded++
		default:
			c.rep.Lost++
			if len(c.rep.LostExamples) < maxExamples {
				w, seq := splitID(id)
				c.rep.LostExamples = append(c.rep.LostExamples, LostWrite{Key: string(c.key), WriteID: fmt.Sprintf("%d.%d", w, seq)})
			}
		}
	}
}

// wrote reports whether id is a write this run made to key k.
func (g *Generator) wrote(id uint64, k uint32) bool {
	w, seq := splitID(id)
	if w >= len(g.workers) {
		return false
	}
	recs := g.workers[w].ledger.recs
	return seq < len(recs) && recs[seq].key == k
}

func (r *VerifyReport) writeText(b *strings.Builder) {
	verdict := "PASSED"
	if !r.Passed {
		verdict = "FAILED"
	}
	fmt.Fprintf(b, "verify %s in %.1fs: %d acknowledged writes (of %d attempted) over %d keys: %d present, %d superseded, %d lost\n",
		verdict, r.ElapsedSeconds, r.WritesAcknowledged, r.WritesAttempted, r.KeysChecked+r.KeysUnreadable, r.Present, r.Superseded, r.Lost)
	if r.CorruptValues > 0 || r.ForeignValues > 0 || r.KeysUnreadable > 0 {
		fmt.Fprintf(b, "corrupt values %d, foreign values %d, unreadable keys %d\n", r.CorruptValues, r.ForeignValues, r.KeysUnreadable)
	}
	for _, l := range r.LostExamples {
		fmt.Fprintf(b, "  lost: key %s write %s\n", l.Key, l.WriteID)
	}
	for _, u := range r.UnreadableExamples {
		fmt.Fprintf(b, "  unreadable: %s\n", u)
	}
}
