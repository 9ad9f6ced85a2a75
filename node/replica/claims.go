package replica

import (
	"fmt"
	"math"

	"github.com/dynkv/dynkv/node/internal/wire"
	"github.com/dynkv/dynkv/vclock"
)

// A client's context is a claim: "I have seen these dots". Every dot it
// names is trusted when the write is minted (docs/GUARANTEES.md, G4), and
// a dot is minted one past the highest counter known. Actors are public
// (/healthz), so a forged context could make the next counter wrap to 0:
// the stored state would hold a sibling outside its own context, which no
// decoder accepts, and the key would be lost on that replica. The checks
// here refuse such contexts before anything is stored.
//
// What can be checked depends on whose dots are claimed:
//   - this replica's own actor (and its fallback actor): it minted every
//     such dot itself, so a claim beyond what it holds for the key is a
//     write it never made;
//   - any other actor: only that actor knows what it minted, so the claim
//     is taken on trust, bounded by maxClaimedCounter. The bound keeps a
//     forged claim from being merged into that actor's replica and making
//     its next counter wrap there.

// maxClaimedCounter is the highest counter a client's context may name.
// Counters grow by one per write to a key, so no real context comes near
// it (2^62 writes at a million a second take 146,000 years), while a
// replica that holds it may still mint 2^62 more dots before counters run
// out.
const maxClaimedCounter = 1 << 62

// badContext is the refusal of a client context; the coordinator passes it
// to the client as 400 bad_context without trying another replica.
func badContext(format string, args ...any) error {
	return &wire.RemoteError{Code: wire.CodeBadContext, Message: fmt.Sprintf(format, args...)}
}

// checkPlausible refuses a context claiming a counter no write can have
// reached, whichever actor it names.
func checkPlausible(ctx vclock.Context) error {
	if d := ctx.Highest(); d.Counter > maxClaimedCounter {
		return badContext("the context claims write %s, beyond any counter a write can reach", d)
	}
	return nil
}

// checkOwnClaim refuses a context that claims a dot of actor, an actor
// this replica mints with, beyond made: the highest counter it made for
// the key.
func checkOwnClaim(ctx vclock.Context, actor string, made uint64) error {
	if c := ctx.Max(actor); c > made {
		return badContext("the context claims a write by this replica that it never made (%s:%d; its last for this key is %d)", actor, c, made)
	}
	return nil
}

// checkNotExhausted refuses to mint when the next counter after highest
// would wrap: a dot must never be minted twice, nor go back to 0.
func checkNotExhausted(actor string, highest uint64) error {
	if highest == math.MaxUint64 {
		return badContext("counters of %s are exhausted for this key", actor)
	}
	return nil
}

// checkMintContext is every check of a client's context before this
// replica mints with its own actor into cur, the key's stored state
// (exists: the key is stored here).
//
// A key not stored here may still have been written by this replica: it
// was reaped, handed off, or quarantined since. Its own dots are then
// unknown, so only the plausibility bound applies.
func checkMintContext(ctx vclock.Context, actor string, cur vclock.Set, exists bool) error {
	if err := checkPlausible(ctx); err != nil {
		return err
	}
	made := cur.Context.Max(actor)
	if exists {
		if err := checkOwnClaim(ctx, actor, made); err != nil {
			return err
		}
	}
	return checkNotExhausted(actor, max(made, ctx.Max(actor)))
}
