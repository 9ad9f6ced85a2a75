package ring

// walkOrders returns, for every partition p, the member indexes in p's walk
// order, as one flat slice: partition p's walk is out[p*m : (p+1)*m], where
// m = members. owners[p] is the index of p's owner.
//
// The walk from p lists members by their first appearance among the owners
// of p, p+1, p+2, … (wrapping), then any member that owns no partition, in
// index (= name) order. Successive partition IDs hash to unrelated points on
// consistent's circle, so their owners are close to independent draws: the
// members after an owner differ from one of its partitions to the next,
// which is what spreads replicas and fallback load (Dynamo's strategy 3).
//
// Computed by move-to-front instead of scanning from every partition:
// walk(p) is owner(p) followed by walk(p+1) with owner(p) removed. Going
// backwards from 2P-1 to 0 and moving each owner to the front, the list is
// exact once one full lap has been seen, so the second lap is recorded.
// Cost O(P·m) time, the size of the output.
func walkOrders(owners []int, members int) []int {
	out := make([]int, len(owners)*members)
	if members == 0 {
		return out
	}
	list := make([]int, members)
	for i := range list {
		list[i] = i // members owning nothing keep this order at the tail
	}
	parts := len(owners)
	for i := 2*parts - 1; i >= 0; i-- {
		moveToFront(list, owners[i%parts])
		if i < parts {
			copy(out[i*members:], list)
		}
	}
	return out
}

// moveToFront moves x (present in list) to list[0], shifting the elements
// before it up by one.
func moveToFront(list []int, x int) {
	j := 0
	for list[j] != x {
		j++
	}
	copy(list[1:j+1], list[:j])
	list[0] = x
}
