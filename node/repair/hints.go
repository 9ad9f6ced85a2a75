package repair

import (
	"context"
	"errors"
	"fmt"

	"github.com/dynkv/dynkv/hinted"
	"github.com/dynkv/dynkv/node/internal/wire"
	"github.com/dynkv/dynkv/node/membership"
)

// DeliverHintsOnce offers every pending hint to its target if the target is
// up, and hands the hints of a target down for longer than the hint window
// to another replica of each key (package hinted owns that rule). The loop
// calls it on a timer; tests call it directly.
func (rp *Repair) DeliverHintsOnce(ctx context.Context) error {
	return rp.replica.Hints().RunOnce(ctx, rp.cluster.UsableID, rp.sendHint, rp.sendToOtherReplica)
}

// sendHint delivers one hint: a merge into the replica it was kept for.
func (rp *Repair) sendHint(ctx context.Context, target string, key, value []byte) error {
	m, ok := rp.cluster.View().Members[target]
	if !ok {
		return fmt.Errorf("hint target %s is not a member", target)
	}
	err := rp.peers.Merge(ctx, membership.Target{Member: m}, wire.EncodeMerge(key, value))
	var re *wire.RemoteError
	if errors.As(err, &re) && re.Code == wire.CodeBadMessage {
		// The target will never take it; keeping it would block every
		// later hint for the target.
		return fmt.Errorf("%w: %v", hinted.ErrRejected, err)
	}
	return err
}

// sendToOtherReplica merges a hint into the first reachable replica of its
// key (of the first N of the walk, N its bucket's) other than the target:
// what hint expiry means here. Dropping a hint is only safe if a replica
// holds what it carries, and with W met by fallbacks alone none may; from
// the other replica, anti-entropy brings the target up to date when it
// returns. A key of an N=1 bucket has no other replica, so its hint stays
// until the target is back or removed.
func (rp *Repair) sendToOtherReplica(ctx context.Context, target string, key, value []byte) error {
	v := rp.cluster.View()
	body := wire.EncodeMerge(key, value)
	n := rp.cfg.Buckets().PropsOf(key).N
	var errs []error
	for _, id := range v.Ring.PreferenceListN(v.Ring.PartitionOf(key), n) {
		m, ok := v.Members[id]
		if id == target || !ok || !rp.cluster.Usable(m) {
			continue
		}
		if err := rp.peers.Merge(ctx, membership.Target{Member: m}, body); err != nil {
			errs = append(errs, err)
			continue
		}
		return nil
	}
	return fmt.Errorf("no other replica of the key reachable: %w", errors.Join(errs...))
}
