package loadtest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// KindTooManySiblings is dynkv's refusal of a write that would exceed the
// sibling cap. A client answers it by reading the key, so that its next
// update resolves the siblings; the generator does the same.
const KindTooManySiblings = "too_many_siblings"

// Generator runs one configuration against one driver: Run, then
// optionally Verify. It is not safe for concurrent use.
type Generator struct {
	cfg    Config
	driver Driver
	nonce  uint64 // starts every value this run writes
	seed   uint64
	zipf   *zipfian
	cache  *contextCache
	causal bool // the driver's store has causal contexts

	workers []*worker // kept after Run for Verify's ledgers
}

// New checks cfg and prepares a run. The driver stays the caller's to
// close.
func New(cfg Config, d Driver) (*Generator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.Workload, _ = ParseWorkload(string(cfg.Workload))
	g := &Generator{cfg: cfg, driver: d, nonce: rand.Uint64() | 1, seed: cfg.Seed, cache: newContextCache(), causal: d.Causal()}
	if g.seed == 0 {
		g.seed = rand.Uint64()
	}
	if cfg.Distribution == Zipfian {
		g.zipf = newScrambledZipfian(uint64(cfg.Keys), cfg.ZipfianConstant)
	}
	return g, nil
}

// worker is one client goroutine's state; its buffers are reused for
// every operation.
type worker struct {
	g      *Generator
	id     int
	c      Client
	rng    *rand.Rand
	keys   keyChooser
	ledger ledger // with Verify
	seq    int    // write ids when not verifying
	shard  *shard

	key, value, tok []byte
	ids, one        []uint64
	rres            ReadResult
	wres            WriteResult
}

// Run checks the driver, runs the preload (if configured) and the timed
// phase, and reports both. Cancelling ctx stops the run early; the report
// then covers what ran and says it was interrupted.
func (g *Generator) Run(ctx context.Context) (*Report, error) {
	if g.workers != nil {
		return nil, errors.New("loadtest: a Generator runs once")
	}
	if err := g.driver.Check(ctx); err != nil {
		return nil, fmt.Errorf("%s is not reachable: %w", g.driver.Name(), err)
	}
	if err := g.startWorkers(); err != nil {
		return nil, err
	}
	defer g.closeClients()

	rep := &Report{
		Driver: g.driver.Name(), Workload: string(g.cfg.Workload), Distribution: string(g.cfg.Distribution),
		Keys: g.cfg.Keys, KeyPrefix: g.cfg.KeyPrefix, ValueSize: g.cfg.ValueSize,
		Concurrency: g.cfg.Concurrency, TargetRate: g.cfg.Rate, Seed: g.seed,
	}
	if g.cfg.Preload {
		p := g.runPhase(ctx, &phase{name: "preload", preload: true})
		rep.Preload = &p
	}
	if (g.cfg.Duration > 0 || g.cfg.Ops > 0) && ctx.Err() == nil {
		var interval time.Duration
		if g.cfg.Rate > 0 {
			interval = time.Duration(float64(time.Second) * float64(g.cfg.Concurrency) / g.cfg.Rate)
		}
		p := g.runPhase(ctx, &phase{name: "run", duration: g.cfg.Duration, ops: g.cfg.Ops, interval: interval})
		rep.Run = &p
	}
	rep.Interrupted = ctx.Err() != nil
	return rep, nil
}

func (g *Generator) startWorkers() error {
	for i := range g.cfg.Concurrency {
		c, err := g.driver.NewClient(i)
		if err != nil {
			g.closeClients()
			return fmt.Errorf("client %d: %w", i, err)
		}
		w := &worker{
			g: g, id: i, c: c,
			rng:   rand.New(rand.NewPCG(g.seed, uint64(i))),
			value: make([]byte, g.cfg.ValueSize),
			one:   make([]uint64, 1),
		}
		// A random body, so the value is not trivially compressible.
		fillBody(w.value, g.seed^uint64(i))
		if g.zipf != nil {
			w.keys = &scrambledZipfianKeys{z: g.zipf, rng: w.rng, keys: uint64(g.cfg.Keys)}
		} else {
			w.keys = &uniformKeys{rng: w.rng, keys: uint64(g.cfg.Keys)}
		}
		g.workers = append(g.workers, w)
	}
	return nil
}

func (g *Generator) closeClients() {
	for _, w := range g.workers {
		if w.c != nil {
			w.c.Close()
			w.c = nil
		}
	}
}

// phase is one stretch of load: the preload, or the timed run.
type phase struct {
	name     string
	preload  bool
	duration time.Duration // 0: unbounded
	ops      int64         // 0: unbounded
	interval time.Duration // per worker between scheduled starts; 0: no pacing

	stop  atomic.Bool
	next  atomic.Int64 // ops claimed, or the next key to preload
	start time.Time
}

func (g *Generator) runPhase(ctx context.Context, p *phase) PhaseReport {
	st := newStats(len(g.workers))
	cpu0, cpuOK := processCPU()
	p.start = time.Now()
	done := make(chan struct{})
	var wg sync.WaitGroup
	for _, w := range g.workers {
		w.shard = st.shardFor(w.id)
		wg.Go(func() { w.loop(ctx, p) })
	}
	go func() { wg.Wait(); close(done) }()

	var tick <-chan time.Time
	if g.cfg.Progress != nil {
		t := time.NewTicker(g.cfg.ProgressInterval)
		defer t.Stop()
		tick = t.C
	}
	var deadline <-chan time.Time
	if p.duration > 0 {
		t := time.NewTimer(p.duration)
		defer t.Stop()
		deadline = t.C
	}
	ctxDone := ctx.Done()
	last := p.start
	for running := true; running; {
		select {
		case <-done:
			running = false
		case <-deadline:
			p.stop.Store(true)
		case <-ctxDone:
			p.stop.Store(true)
			ctxDone = nil
		case now := <-tick:
			iv := st.drain()
			g.printProgress(p, iv, now.Sub(p.start), now.Sub(last))
			last = now
		}
	}
	elapsed := time.Since(p.start)
	st.drain()
	rep := phaseReport(p.name, elapsed, &st.total)
	if cpu1, ok := processCPU(); ok && cpuOK {
		rep.ClientCPUSeconds = (cpu1 - cpu0).Seconds()
	}
	return rep
}

func (w *worker) loop(ctx context.Context, p *phase) {
	if p.preload {
		keys := int64(w.g.cfg.Keys)
		for !p.stop.Load() {
			k := p.next.Add(1) - 1
			if k >= keys {
				return
			}
			w.write(ctx, uint32(k), opInsert, time.Time{}, false)
		}
		return
	}
	mix := w.g.cfg.Workload.mix()
	var next time.Time
	if p.interval > 0 {
		// Stagger the workers' schedules over one interval.
		next = p.start.Add(p.interval * time.Duration(w.id) / time.Duration(len(w.g.workers)))
	}
	for !p.stop.Load() {
		if p.ops > 0 && p.next.Add(1) > p.ops {
			return
		}
		var scheduled time.Time
		if p.interval > 0 {
			if d := time.Until(next); d > 0 {
				time.Sleep(d)
				if p.stop.Load() {
					return
				}
			}
			scheduled, next = next, next.Add(p.interval)
		}
		k := uint32(w.keys.next())
		switch draw := w.rng.IntN(1000); {
		case draw < mix.read:
			w.read(ctx, k, scheduled)
		case draw < mix.read+mix.update:
			w.write(ctx, k, opUpdate, scheduled, true)
		default:
			w.rmw(ctx, k, scheduled)
		}
	}
}

func (w *worker) setKey(k uint32) {
	w.key = appendKey(w.key[:0], w.g.cfg.KeyPrefix, uint64(k))
}

// read is one read operation; it updates the key's cached context.
func (w *worker) read(ctx context.Context, k uint32, scheduled time.Time) {
	w.setKey(k)
	if scheduled.IsZero() {
		scheduled = time.Now()
	}
	err := w.c.Read(ctx, w.key, &w.rres)
	lat := time.Since(scheduled)
	var out readOutcome
	if err == nil {
		out = readOutcome{did: true, found: w.rres.Found, siblings: len(w.rres.Values) > 1}
		w.observe(k)
	}
	w.shard.record(opRead, lat, err, out)
}

// observe caches what the last read returned.
func (w *worker) observe(k uint32) {
	verify := w.g.cfg.Verify
	if !verify && len(w.rres.Token) == 0 {
		return
	}
	w.ids = w.ids[:0]
	if verify {
		w.ids = appendIDs(w.ids, w.rres.Values, w.g.nonce)
	}
	w.g.cache.store(k, w.rres.Token, w.ids)
}

// write is one update (with the key's cached context when cached is set)
// or insert (blind). An update of a key the generator holds no context for
// reads the key first, when the store has contexts, as a client must: a
// blind write would be concurrent with what is stored and make a sibling.
// That read is part of the update's latency.
func (w *worker) write(ctx context.Context, k uint32, op opKind, scheduled time.Time, cached bool) {
	if scheduled.IsZero() {
		scheduled = time.Now()
	}
	w.tok, w.ids = w.tok[:0], w.ids[:0]
	var err error
	var readFirst bool
	if cached {
		var found bool
		w.tok, w.ids, found = w.g.cache.load(k, w.tok, w.ids)
		if !found && w.g.causal {
			readFirst = true
			w.setKey(k)
			if err = w.c.Read(ctx, w.key, &w.rres); err == nil {
				w.observe(k)
				w.tok = append(w.tok[:0], w.rres.Token...)
				w.ids = w.ids[:0]
				if w.g.cfg.Verify {
					w.ids = appendIDs(w.ids, w.rres.Values, w.g.nonce)
				}
			}
		}
	}
	if err == nil {
		err = w.doWrite(ctx, k, w.tok, w.ids)
	}
	w.shard.record(op, time.Since(scheduled), err, readOutcome{readFirst: readFirst})
	if err != nil && ErrorKind(err) == KindTooManySiblings {
		w.read(ctx, k, time.Time{})
	}
}

// rmw reads the key and writes it back with the read's context; its
// latency is the pair's.
func (w *worker) rmw(ctx context.Context, k uint32, scheduled time.Time) {
	w.setKey(k)
	if scheduled.IsZero() {
		scheduled = time.Now()
	}
	err := w.c.Read(ctx, w.key, &w.rres)
	var out readOutcome
	if err == nil {
		out = readOutcome{did: true, found: w.rres.Found, siblings: len(w.rres.Values) > 1}
		w.ids = w.ids[:0]
		if w.g.cfg.Verify {
			w.ids = appendIDs(w.ids, w.rres.Values, w.g.nonce)
		}
		err = w.doWrite(ctx, k, w.rres.Token, w.ids)
	}
	w.shard.record(opRMW, time.Since(scheduled), err, out)
}

// doWrite writes a fresh value of key k with token, recording it in the
// ledger with parents when verifying, and caches the new version's context.
func (w *worker) doWrite(ctx context.Context, k uint32, token []byte, parents []uint64) error {
	verify := w.g.cfg.Verify
	var seq int
	if verify {
		seq = w.ledger.add(k, parents)
	} else {
		seq = w.seq
		w.seq++
	}
	id := makeID(w.id, seq)
	fillValue(w.value, w.g.nonce, id, verify)
	w.setKey(k)
	err := w.c.Write(ctx, w.key, w.value, token, &w.wres)
	if err != nil {
		return err
	}
	var ids []uint64
	if verify {
		w.ledger.ack(seq)
		w.one[0] = id
		ids = w.one
	}
	if verify || len(w.wres.Token) > 0 {
		w.g.cache.store(k, w.wres.Token, ids)
	}
	return nil
}
