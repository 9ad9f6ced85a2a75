package membership

import (
	"slices"

	"github.com/hashicorp/serf/serf"
)

var _ Readiness = (*SerfMembership)(nil)

// SnapshotFile is the name of serf's snapshot in a node's data directory:
// SerfConfig.SnapshotPath is filepath.Join(dataDir, SnapshotFile).
const SnapshotFile = "serf.snapshot"

// prepareRejoin, before serf starts, reads the members record
// (SnapshotPath+MembersRecordSuffix) and sets the seeds to join: Join's,
// then the recorded members', so that a node started without --join (the
// seed of a new cluster) finds its cluster again after a crash by itself.
// Start then runs m.rejoin, which records every change.
func (m *SerfMembership) prepareRejoin(sc *serf.Config) {
	path := ""
	if m.cfg.SnapshotPath != "" {
		// serf's snapshot restores its Lamport clocks and makes one attempt
		// to rejoin the members it still names; the record (rejoin.go)
		// is what the retries and readiness go by. RejoinAfterLeave stays
		// false: a node that left did so for good (its data handed off).
		// With a snapshot, serf hands events on without blocking and drops
		// them when EventCh is full; drain keeps it near empty, and every
		// rebuild reads the whole member list, so only a dropped last
		// event of a burst of 1024 would leave the view stale.
		sc.SnapshotPath = m.cfg.SnapshotPath
		path = m.cfg.SnapshotPath + MembersRecordSuffix
	}
	m.rejoin = newRejoin(path, m.cfg.NodeID, m.cfg.Logger)
	m.seeds = slices.Clone(m.cfg.Join)
	for _, s := range m.rejoin.seeds() {
		if !slices.Contains(m.seeds, s) {
			m.seeds = append(m.seeds, s)
		}
	}
}

// Ready implements Readiness: a node restarted with a record of other
// members is ready once one of them is alive in its view.
func (m *SerfMembership) Ready(view []Member) (bool, string) {
	if m.serf == nil {
		return false, "gossip not started"
	}
	return m.rejoin.Ready(view)
}
