package vclock

// Last writer wins.
//
// A bucket in lww mode keeps one version of concurrent writes, as Riak's
// allow_mult=false does: it is the mode that loses writes (every
// concurrent one but the winner), chosen for data whose last value is all
// that matters. Causality still comes first: a write whose context saw
// another supersedes it whatever the clocks say, exactly as in a sibling
// bucket; only versions that are concurrent are decided by their stamps.

// LastWriterWins returns s with only its winning sibling: the one with the
// latest Modified stamp, ties broken by the higher dot (actor name, then
// counter), so that every replica picks the same one. The context is kept
// whole: the dropped siblings' dots stay in it, so a copy that still holds
// one drops it at the next merge, as it would a superseded version.
//
// Replicas of an lww bucket store only resolved sets, and a write there
// supersedes everything its replica holds (the replica mints with its own
// state's context), so a dot is dropped only when a write saw it or a
// concurrent version outstamps it: every replica that has seen the same
// dots keeps the same winner, and replicas converge byte for byte.
func (s Set) LastWriterWins() Set {
	if len(s.Siblings) <= 1 {
		return s
	}
	best := s.Siblings[0]
	for _, sib := range s.Siblings[1:] {
		if sib.Modified > best.Modified || sib.Modified == best.Modified && compareDots(sib.Dot, best.Dot) > 0 {
			best = sib
		}
	}
	return Set{Context: s.Context, Siblings: []Sibling{best}}
}
