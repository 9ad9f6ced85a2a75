package replica

import (
	"errors"
	"fmt"

	"github.com/dynkv/dynkv/node/internal/wire"
	"github.com/dynkv/dynkv/vclock"
)

// errListFull stops a partition scan once a page is full.
var errListFull = errors.New("list page full")

// List returns the live keys of one partition for the key listing, in key
// order: those starting with the request's prefix, after its After, at
// most Limit of them. Tombstones are skipped, so it reads every record's
// value; a record that does not decode fails the call, so that the
// coordinator asks another replica rather than leaving the key out.
func (r *Replica) List(req wire.ListRequest) (wire.ListResponse, error) {
	if req.Partition < 0 || req.Partition >= r.cfg.Partitions {
		return wire.ListResponse{}, fmt.Errorf("%w: partition %d of %d", wire.ErrBadMessage, req.Partition, r.cfg.Partitions)
	}
	var resp wire.ListResponse
	var after []byte
	if len(req.After) > 0 {
		after = req.After
	}
	nowMs := r.cfg.Clock().UnixMilli()
	err := r.store.ScanFrom(uint16(req.Partition), req.Prefix, after, func(key, value []byte) error {
		s, err := vclock.DecodeSet(value)
		if err != nil {
			return fmt.Errorf("list partition %d: key %q: %w", req.Partition, key, err)
		}
		if len(s.Live(nowMs)) == 0 {
			return nil
		}
		if len(resp.Keys) == req.Limit {
			resp.More = true
			return errListFull
		}
		resp.Keys = append(resp.Keys, key)
		return nil
	})
	if err != nil && !errors.Is(err, errListFull) {
		return wire.ListResponse{}, err
	}
	return resp, nil
}
