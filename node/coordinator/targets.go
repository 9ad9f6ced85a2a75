package coordinator

import "github.com/dynkv/dynkv/node/membership"

// targetsFor returns the key's n targets (n is its bucket's N: the first
// n members of the partition's walk are its replicas, the rest of the walk
// its fallbacks) in the order requests should try
// them: usable replicas (this node first, if it is one), then, for each
// unusable replica, the next usable node after the preference list walking
// the ring, as its stand-in. Replicas for which no stand-in is left come
// last: the detectors may be wrong, and trying costs little.
//
// spares are the usable nodes of the walk not chosen, in order: stand-ins
// for replicas that fail during the request.
func (c *Coordinator) targetsFor(key []byte, n int) (targets []membership.Target, spares []membership.Member) {
	v := c.cluster.View()
	partition := v.Ring.PartitionOf(key)
	walk := v.Ring.Walk(partition)
	prefLen := len(v.Ring.PreferenceListN(partition, n))
	self := c.cluster.Self()
	var down []membership.Member
	for _, id := range walk[:prefLen] {
		m := v.Member(id)
		switch {
		case !c.cluster.Usable(m):
			down = append(down, m)
		case id == self:
			targets = append([]membership.Target{{Member: m}}, targets...)
		default:
			targets = append(targets, membership.Target{Member: m})
		}
	}
	for _, id := range walk[prefLen:] {
		m := v.Member(id)
		if !c.cluster.Usable(m) {
			continue
		}
		if len(down) > 0 {
			targets = append(targets, membership.Target{Member: m, HintFor: down[0].ID})
			down = down[1:]
			continue
		}
		spares = append(spares, m)
	}
	for _, m := range down {
		targets = append(targets, membership.Target{Member: m})
	}
	return targets, spares
}
