package membership

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Readiness is implemented by a Membership that can tell whether this node
// is back in its cluster after a restart. A node that answered ready while
// it was still a cluster of one would be sent requests it can only refuse
// (its ring has one member, so no quorum), so the node's readiness probe
// asks this first. A Membership without it is always ready.
type Readiness interface {
	// Ready reports whether the node has rejoined, judged on view — the
	// members of the node's current View, the one its requests use (the
	// gossip library's own list can be ahead of it) — and if not, why not.
	Ready(view []Member) (bool, string)
}

// MembersRecordSuffix names the record of known members kept beside serf's
// snapshot: SnapshotPath+MembersRecordSuffix.
const MembersRecordSuffix = ".members"

// A node that has not rejoined says so after warnAloneAfter (a rejoin takes
// milliseconds when a peer answers: no warning then), then every
// warnAloneEvery.
const (
	warnAloneAfter = time.Second
	warnAloneEvery = 5 * time.Second
)

// recordedMember is one member of the record: enough to dial it again.
type recordedMember struct {
	ID         string `json:"id"`
	GossipAddr string `json:"gossip_addr"`
}

type membersRecord struct {
	Members []recordedMember `json:"members"`
}

// rejoin keeps the members this node knew across restarts and decides when
// a restarted node is back in its cluster.
//
// serf's own snapshot (SerfConfig.SnapshotPath) is not enough for either:
// it buffers its writes and flushes them only when a later line comes more
// than 500 ms after the last flush, so after kill -9 it lacks the member
// events of the last half second before a quiet period (measured: a member
// that joined 100 ms after another was missing from the snapshot three
// seconds later), and it forgets a member the moment it fails, which
// dynkv's ring does not. So dynkv writes its own record, replaced
// atomically and fsynced whenever the set of members changes: every member
// that has not left, other than this node.
//
// The node has rejoined once a member named in the record at start is alive
// in its view; a record naming nobody (a new node, or one whose cluster
// left) means ready at once. Readiness is latched: it answers "is this
// node back since it started", not "is the cluster healthy", so that peers
// failing later do not take a working node out of rotation.
type rejoin struct {
	path string // the record; "" keeps none
	self string
	log  *slog.Logger

	known   []recordedMember // the record as found at start
	damaged bool             // the record at start could not be read
	ready   atomic.Bool

	kick chan struct{} // a membership change to record
	done chan struct{} // closed when run returns

	mu      sync.Mutex
	written map[string]string // id → gossip address last recorded
	stopped bool              // this node left: record nothing more
}

// newRejoin reads the record at path. A record that cannot be parsed is
// not trusted to name nobody: the node then waits for any other member.
func newRejoin(path, self string, log *slog.Logger) *rejoin {
	r := &rejoin{path: path, self: self, log: log, kick: make(chan struct{}, 1), done: make(chan struct{})}
	rec, err := readMembersRecord(path)
	switch {
	case err != nil:
		r.damaged = true
		log.Warn("members record unreadable; waiting for any other member before answering ready", "path", path, "err", err)
	default:
		for _, m := range rec.Members {
			if m.ID != self && m.ID != "" {
				r.known = append(r.known, m)
			}
		}
	}
	r.written = map[string]string{}
	for _, m := range r.known {
		r.written[m.ID] = m.GossipAddr
	}
	r.ready.Store(!r.damaged && len(r.known) == 0)
	return r
}

func readMembersRecord(path string) (membersRecord, error) {
	var rec membersRecord
	if path == "" {
		return rec, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return rec, nil
	}
	if err != nil {
		return rec, fmt.Errorf("read members record: %w", err)
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return rec, fmt.Errorf("parse members record %s: %w", path, err)
	}
	return rec, nil
}

// seeds are the gossip addresses of the recorded members, to join.
func (r *rejoin) seeds() []string {
	var out []string
	for _, m := range r.known {
		if m.GossipAddr != "" {
			out = append(out, m.GossipAddr)
		}
	}
	return out
}

// Ready implements Readiness over view, the node's current View.
func (r *rejoin) Ready(view []Member) (bool, string) {
	if r == nil || r.ready.Load() || r.observe(view) {
		return true, ""
	}
	return false, r.why()
}

// why says what a node that has not rejoined waits for.
func (r *rejoin) why() string {
	if r.damaged {
		return "rejoining the cluster: the members record was unreadable and no other member is alive yet"
	}
	return fmt.Sprintf("rejoining the cluster: none of the members it knew (%s) is alive yet", strings.Join(r.knownIDs(), ", "))
}

func (r *rejoin) knownIDs() []string {
	ids := make([]string, len(r.known))
	for i, m := range r.known {
		ids[i] = m.ID
	}
	slices.Sort(ids)
	return ids
}

// observe latches readiness once a recorded member (any other member, if
// the record was damaged) is alive in view; it reports readiness.
func (r *rejoin) observe(view []Member) bool {
	if r.ready.Load() {
		return true
	}
	for _, m := range view {
		if m.ID == r.self || m.Status != StatusAlive {
			continue
		}
		if r.damaged || slices.ContainsFunc(r.known, func(k recordedMember) bool { return k.ID == m.ID }) {
			if r.ready.CompareAndSwap(false, true) {
				r.log.Info("rejoined the cluster", "via", m.ID)
			}
			return true
		}
	}
	return false
}

// changed notes a membership change without blocking serf's event drain
// (run records it). seen was read before the node rebuilt its view from
// gossip, so a recorded member alive in seen is in that view's ring and
// readiness may latch on it, whether or not anyone probes it: the record
// stops only growing once the node has rejoined.
func (r *rejoin) changed(seen []Member) {
	r.observe(seen)
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// run records membership changes and, while the node has not rejoined,
// warns, until ctx ends. It never latches readiness
// itself (Ready and changed do): members, gossip's own list read now, may
// be ahead of the view the node's requests use.
func (r *rejoin) run(ctx context.Context, members func() []Member) {
	defer close(r.done)
	t := time.NewTimer(warnAloneAfter)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.kick:
			if err := r.record(members()); err != nil {
				r.log.Warn("cannot record the members; a restart may not find them", "path", r.path, "err", err)
			}
		case <-t.C:
			if !r.ready.Load() {
				r.log.Warn("not ready: "+r.why(), "known", r.knownIDs())
				t.Reset(warnAloneEvery)
			}
		}
	}
}

// record writes the members worth rejoining if they changed. Until the node
// has rejoined it only adds to the record: its view then is not the
// cluster's (right after a start it knows only itself), and a second crash
// must still find the members the first one knew. Once rejoined, the view
// is the cluster's and the record follows it, so members that left drop out.
func (r *rejoin) record(members []Member) error {
	if r.path == "" {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return nil
	}
	next := map[string]string{}
	if !r.ready.Load() {
		next = maps.Clone(r.written)
	}
	for _, m := range members {
		switch {
		case m.ID == r.self:
		case m.Status == StatusLeft:
			delete(next, m.ID)
		default:
			next[m.ID] = m.GossipAddr
		}
	}
	if maps.Equal(next, r.written) {
		return nil
	}
	if err := writeMembersRecord(r.path, next); err != nil {
		return err
	}
	r.written = next
	return nil
}

// left empties the record: a node that left the cluster for good must not
// rejoin it when it starts again (as serf's snapshot does without
// RejoinAfterLeave).
func (r *rejoin) left() error {
	if r == nil || r.path == "" {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopped = true
	r.written = map[string]string{}
	return writeMembersRecord(r.path, r.written)
}

// writeMembersRecord replaces the record atomically and durably: a crash
// leaves either the old record or the new one, never half of one.
func writeMembersRecord(path string, members map[string]string) error {
	rec := membersRecord{Members: []recordedMember{}}
	for _, id := range slices.Sorted(maps.Keys(members)) {
		rec.Members = append(rec.Members, recordedMember{ID: id, GossipAddr: members[id]})
	}
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return fmt.Errorf("encode members record: %w", err)
	}
	tmp := path + ".tmp"
	if err := writeSynced(tmp, append(b, '\n')); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("install members record: %w", err)
	}
	dir, err := os.Open(filepath.Dir(path))
	if err != nil {
		return fmt.Errorf("open members record directory: %w", err)
	}
	defer dir.Close()
	if err := dir.Sync(); err != nil {
		return fmt.Errorf("sync members record directory: %w", err)
	}
	return nil
}

func writeSynced(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("create members record: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("write members record: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync members record: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close members record: %w", err)
	}
	return nil
}
