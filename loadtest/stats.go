package loadtest

import (
	"strconv"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// opKind is one of the operations a report lists.
type opKind int

const (
	opRead opKind = iota
	opUpdate
	opRMW
	opInsert
	numOps
)

func (o opKind) String() string {
	switch o {
	case opRead:
		return "read"
	case opUpdate:
		return "update"
	case opRMW:
		return "rmw"
	case opInsert:
		return "insert"
	}
	return "opKind(" + strconv.Itoa(int(o)) + ")"
}

// Histogram range: 1 µs to 60 s in microseconds, 3 significant digits.
const (
	histLowest  = 1
	histHighest = 60_000_000
	histDigits  = 3
)

func newHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(histLowest, histHighest, histDigits)
}

// recordLatency records d, clamped into the histogram's range.
func recordLatency(h *hdrhistogram.Histogram, d time.Duration) {
	us := d.Microseconds()
	us = min(max(us, histLowest), histHighest)
	h.RecordValue(us) // in range by construction
}

// counts are the non-latency tallies of one operation kind.
type counts struct {
	errs map[string]int64 // by kind
	// Successful reads (plain and inside rmw): total, not found, returned
	// siblings.
	reads, notFound, siblings int64
	// Updates that read first for want of a context.
	readFirst int64
}

func (c *counts) addErr(kind string) {
	if c.errs == nil {
		c.errs = map[string]int64{}
	}
	c.errs[kind]++
}

func (c *counts) merge(from *counts) {
	for k, v := range from.errs {
		if c.errs == nil {
			c.errs = map[string]int64{}
		}
		c.errs[k] += v
	}
	c.reads += from.reads
	c.notFound += from.notFound
	c.siblings += from.siblings
	c.readFirst += from.readFirst
}

func (c *counts) reset() {
	clear(c.errs)
	c.reads, c.notFound, c.siblings, c.readFirst = 0, 0, 0, 0
}

func (c *counts) errors() int64 {
	var n int64
	for _, v := range c.errs {
		n += v
	}
	return n
}

// shard is where a few workers record; the reporter drains it. Striping
// keeps 64 workers from queueing on one lock while holding only a handful
// of histograms (each ~140 KB).
type shard struct {
	mu     sync.Mutex
	hist   [numOps]*hdrhistogram.Histogram // created on first use
	counts [numOps]counts
}

// readOutcome describes a successful read (did) for the sibling and
// not-found shares, or an update that had to read first.
type readOutcome struct {
	did, found, siblings bool
	readFirst            bool
}

func (s *shard) record(op opKind, lat time.Duration, err error, r readOutcome) {
	s.mu.Lock()
	c := &s.counts[op]
	if r.readFirst {
		c.readFirst++
	}
	if r.did {
		c.reads++
		if !r.found {
			c.notFound++
		}
		if r.siblings {
			c.siblings++
		}
	}
	if err != nil {
		c.addErr(ErrorKind(err))
	} else {
		if s.hist[op] == nil {
			s.hist[op] = newHistogram()
		}
		recordLatency(s.hist[op], lat)
	}
	s.mu.Unlock()
}

// tally is the reporter's aggregate of one operation kind.
type tally struct {
	hist   *hdrhistogram.Histogram
	counts counts
}

func (t *tally) ok() int64 {
	if t.hist == nil {
		return 0
	}
	return t.hist.TotalCount()
}

// stats is every shard of a phase plus the reporter's totals.
type stats struct {
	shards []*shard
	// Guarded by the reporter: only one goroutine drains at a time.
	total    [numOps]tally
	interval [numOps]tally
}

func newStats(concurrency int) *stats {
	n := min(concurrency, 16)
	s := &stats{shards: make([]*shard, n)}
	for i := range s.shards {
		s.shards[i] = &shard{}
	}
	return s
}

func (s *stats) shardFor(worker int) *shard { return s.shards[worker%len(s.shards)] }

// drain moves everything recorded since the last drain into the totals and
// into a fresh interval, which it returns.
func (s *stats) drain() *[numOps]tally {
	for op := range numOps {
		if s.interval[op].hist != nil {
			s.interval[op].hist.Reset()
		}
		s.interval[op].counts.reset()
	}
	for _, sh := range s.shards {
		sh.mu.Lock()
		for op := range numOps {
			if h := sh.hist[op]; h != nil && h.TotalCount() > 0 {
				if s.interval[op].hist == nil {
					s.interval[op].hist = newHistogram()
				}
				s.interval[op].hist.Merge(h)
				h.Reset()
			}
			s.interval[op].counts.merge(&sh.counts[op])
			sh.counts[op].reset()
		}
		sh.mu.Unlock()
	}
	for op := range numOps {
		iv := &s.interval[op]
		if iv.hist != nil && iv.hist.TotalCount() > 0 {
			if s.total[op].hist == nil {
				s.total[op].hist = newHistogram()
			}
			s.total[op].hist.Merge(iv.hist)
		}
		s.total[op].counts.merge(&iv.counts)
	}
	return &s.interval
}
