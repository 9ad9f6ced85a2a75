package coordinator

import (
	"context"
	"errors"
	"fmt"

	"github.com/dynkv/dynkv/node/internal/wire"
	"github.com/dynkv/dynkv/vclock"
)

// MergeSet merges a whole sibling set into key's replicas, as a restore
// does: what each replica holds and set are merged by causality (neither
// overwrites what the other has seen), so nothing written since the set
// was read is lost and nothing in it is. It is sent to all the key's
// targets and answers when all have answered (or the request timed out),
// succeeding when at least w took it (0: the bucket's W); a refusal (a set
// over the sibling cap, say) fails the call.
func (c *Coordinator) MergeSet(ctx context.Context, key []byte, set vclock.Set, w int) error {
	props := c.propsOf(key)
	w, err := quorumFor("write", w, props.W, props.N)
	if err != nil {
		return err
	}
	targets, _ := c.targetsFor(key, props.N)
	if len(targets) < w {
		return &QuorumError{Op: "write", Required: w, Why: []string{fmt.Sprintf("the cluster has %d nodes", len(targets))}}
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	body := wire.MergeRequest{Key: key, Set: set}.Encode()
	errs := make(chan error, len(targets))
	for _, t := range targets {
		go func() { errs <- c.peers.Merge(ctx, t, body) }()
	}
	acks := 0
	var why []string
	var refused error
	for range targets {
		err := <-errs
		var re *wire.RemoteError
		switch {
		case err == nil:
			acks++
		case errors.As(err, &re) && re.Code != wire.CodeShuttingDown && re.Code != wire.CodeInsufficientStorage:
			refused = err // the set itself is refused: no replica will take it
		default:
			why = append(why, err.Error())
		}
	}
	switch {
	case refused != nil:
		return refused
	case acks >= w:
		return nil
	}
	return &QuorumError{Op: "write", Acks: acks, Required: w, TimedOut: ctx.Err() != nil, Why: why}
}
