package node

// target is one node a request for a key goes to: a replica from the
// preference list, or a fallback standing in for one (sloppy quorum) that
// keeps what it receives as a hint for that replica.
type target struct {
	Member
	hintFor string // the preference-list node this fallback stands in for; "" for a replica
}

// usable reports whether m should be sent requests now: gossip says it is
// alive and this node has not just failed to reach it.
func (n *Node) usable(m Member) bool {
	if m.ID == n.cfg.NodeID {
		return !n.closing.Load()
	}
	return m.Status == StatusAlive && !n.health.suspected(m.ID)
}

// targetsFor returns the key's N targets in the order requests should try
// them: usable replicas (this node first, if it is one), then, for each
// unusable replica, the next usable node after the preference list walking
// the ring, as its stand-in. Replicas for which no stand-in is left come
// last: the detectors may be wrong, and trying costs little.
//
// spares are the usable nodes of the walk not chosen, in order: stand-ins
// for replicas that fail during the request.
func (n *Node) targetsFor(key []byte) (targets []target, spares []Member, partition int) {
	v := n.view()
	partition = v.ring.PartitionOf(key)
	walk := v.ring.Walk(partition)
	prefLen := len(v.ring.PreferenceList(partition))
	member := func(id string) Member {
		if m, ok := v.members[id]; ok {
			return m
		}
		return Member{ID: id, Status: StatusFailed}
	}
	var down []Member
	for _, id := range walk[:prefLen] {
		m := member(id)
		switch {
		case !n.usable(m):
			down = append(down, m)
		case id == n.cfg.NodeID:
			targets = append([]target{{Member: m}}, targets...)
		default:
			targets = append(targets, target{Member: m})
		}
	}
	for _, id := range walk[prefLen:] {
		m := member(id)
		if !n.usable(m) {
			continue
		}
		if len(down) > 0 {
			targets = append(targets, target{Member: m, hintFor: down[0].ID})
			down = down[1:]
			continue
		}
		spares = append(spares, m)
	}
	for _, m := range down {
		targets = append(targets, target{Member: m})
	}
	return targets, spares, partition
}
