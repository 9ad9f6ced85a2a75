package store

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/dgraph-io/badger/v4"
)

// Group commit.
//
// Every data write (Update, Delete, of partition or keyspace keys) is
// prepared by its caller under the key's stripe and then handed to the
// committer, which writes what has queued up as one badger transaction.
// A badger transaction costs the same fixed work whatever it holds (a read
// timestamp, a commit timestamp under the oracle's lock, a trip through
// badger's write goroutine and back, the watermark updates, and with
// SyncWrites one msync of the write-ahead log per transaction), so
// merges and mints arriving together pay it once.
//
// There is no committer goroutine: the first writer to find no commit in
// progress becomes the leader and commits the queue, its own write
// included; writers arriving meanwhile queue up, and when the leader is
// done it wakes them with their results and makes the first writer still
// queued the next leader. A lone writer therefore commits at once, with
// no hand-off, and Close has nothing to stop: every queued writer is an
// operation in flight, which Close already waits for.
//
// A writer holds its key's stripe until its batch has committed, so two
// writes of one key are never in the same or in concurrent batches, and a
// read of the key under the stripe sees the previous write committed.
// This is also why concurrent batches would be safe; one at a time is
// what makes them large.

// errCommitPanicked is the result of the writes of a batch whose commit
// panicked: some of them may have been committed.
var errCommitPanicked = errors.New("store: badger panicked while committing the batch; its writes may or may not have been applied")

// write is one key's change waiting for a group commit.
type write struct {
	key   []byte
	value []byte // the new value; ignored when del
	del   bool
	err   error // the write's result, set by the leader
	// lead is set before done is signalled when this writer is to commit
	// the next batch rather than return.
	lead bool
	done chan struct{} // capacity 1: signalled once per use
}

// committer batches writes into badger transactions (see above).
type committer struct {
	db *badger.DB

	mu    sync.Mutex
	queue []*write // waiting for the next batch
	busy  bool     // a leader is committing; the queue waits for it

	writes sync.Pool // of *write, each with its own done channel

	// commit commits one transaction of n writes. It is txn.Commit;
	// tests replace it to fail or hold a batch.
	commit func(txn *badger.Txn, n int) error
	// txns counts the transactions committed or attempted, for tests
	// and benchmarks (ops per commit).
	txns atomic.Int64
}

func newCommitter(db *badger.DB) *committer {
	c := &committer{db: db}
	c.writes.New = func() any { return &write{done: make(chan struct{}, 1)} }
	c.commit = func(txn *badger.Txn, _ int) error { return txn.Commit() }
	return c
}

// set writes value under key (del: deletes key) in the next batch and
// returns once that batch has committed, with its error. The caller holds
// key's stripe.
func (c *committer) set(key, value []byte, del bool) error {
	w := c.writes.Get().(*write)
	w.key, w.value, w.del = key, value, del
	c.mu.Lock()
	c.queue = append(c.queue, w)
	if c.busy {
		c.mu.Unlock()
		<-w.done
		if !w.lead {
			return c.release(w)
		}
		c.mu.Lock() // handed the lead: commit the queue, which holds w
	}
	c.busy = true
	batch := c.queue
	c.queue = make([]*write, 0, len(batch))
	c.mu.Unlock()
	c.lead(batch, w)
	return c.release(w)
}

// lead commits batch, which holds self, then passes the lead on and wakes
// the batch's other writers. Should badger panic, they are woken with
// errCommitPanicked and the lead is passed on all the same, so that a
// recovered panic does not leave every later write waiting forever.
func (c *committer) lead(batch []*write, self *write) {
	committed := false
	defer func() {
		if !committed {
			for _, o := range batch {
				o.err = errCommitPanicked
			}
		}
		c.mu.Lock()
		if len(c.queue) > 0 {
			// Hand the lead over before waking this batch's writers, so
			// the next batch starts without waiting for them.
			next := c.queue[0]
			next.lead = true
			next.done <- struct{}{}
		} else {
			c.busy = false
		}
		c.mu.Unlock()
		for _, o := range batch {
			if o != self {
				o.done <- struct{}{} // o may be reused at once: touch it no more
			}
		}
	}()
	c.commitBatch(batch)
	committed = true
}

// release returns w's result and puts w back in the pool.
func (c *committer) release(w *write) error {
	err := w.err
	*w = write{done: w.done}
	c.writes.Put(w)
	return err
}

// commitBatch writes batch in as few transactions as badger allows and
// sets every write's err. A write badger refuses on its own (a value too
// large for it) fails alone; a transaction that fails to commit fails all
// its writes, and badger then has applied none of them.
func (c *committer) commitBatch(batch []*write) {
	txn := c.db.NewTransaction(true)
	members := make([]*write, 0, len(batch))
	for _, w := range batch {
		err := w.apply(txn)
		if errors.Is(err, badger.ErrTxnTooBig) && len(members) > 0 {
			// Full: commit what it has and start the next one.
			c.finish(txn, members)
			txn = c.db.NewTransaction(true)
			members = members[:0]
			err = w.apply(txn)
		}
		if err != nil {
			w.err = mapErr(err)
			continue
		}
		members = append(members, w)
	}
	c.finish(txn, members)
}

// apply adds w's change to txn.
func (w *write) apply(txn *badger.Txn) error {
	if w.del {
		return txn.Delete(w.key)
	}
	return txn.Set(w.key, w.value)
}

// finish commits txn, which holds members' changes, and gives each the
// result. It always discards txn.
func (c *committer) finish(txn *badger.Txn, members []*write) {
	defer txn.Discard()
	if len(members) == 0 {
		return
	}
	c.txns.Add(1)
	err := mapErr(c.commit(txn, len(members)))
	for _, w := range members {
		w.err = err
	}
}

// update is the read-modify-write of badger key bk under its stripe, as
// Store.Update describes. It returns fn's error, if any, separately from
// the store's so callers can pass the former through unchanged.
func (s *Store) update(bk []byte, fn func(old []byte, exists bool) ([]byte, error)) (fnErr, err error) {
	mu := s.stripe(bk)
	mu.Lock()
	defer mu.Unlock()
	// Holding the stripe, this read includes every earlier write of bk:
	// that write's Update returned only once its batch had committed, and
	// badger waits for committed transactions when it picks a read
	// timestamp. So the read-modify-write cannot interleave with another.
	old, err := s.get(bk)
	exists := err == nil
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("read: %w", err)
	}
	nv, err := fn(old, exists)
	switch {
	case err != nil:
		return err, nil
	case nv == nil && !exists:
		return nil, nil
	case nv == nil:
		return nil, s.commits.set(bk, nil, true)
	}
	// Only writes that add data meet the free-space floor: a delete is
	// what frees space.
	if err := s.disk.reserve(len(bk) + len(nv)); err != nil {
		return nil, err
	}
	return nil, s.commits.set(bk, nv, false)
}

// delete removes badger key bk under its stripe, which keeps a delete from
// landing between an Update's read and its write, where the Update would
// silently resurrect the key.
func (s *Store) delete(bk []byte) error {
	mu := s.stripe(bk)
	mu.Lock()
	defer mu.Unlock()
	return s.commits.set(bk, nil, true)
}
