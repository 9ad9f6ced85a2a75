package replica

import (
	"fmt"

	"github.com/dynkv/dynkv/bucket"
	"github.com/dynkv/dynkv/vclock"
)

// Per-bucket properties on the replica side. Every operation reads the
// bucket table once (Config.Buckets) and takes its key's props from it: the
// value and sibling caps, the conflict mode, and N, which picks the Merkle
// tree the key is in (trees.go).
//
// An lww bucket (bucket.LWW) keeps one version of concurrent writes. Its
// replicas store only resolved sets (vclock.Set.LastWriterWins): a mint
// supersedes everything the replica holds, and every merge — a peer's
// state, a hint, two hints coalescing — is resolved before it is stored,
// so that replicas that saw the same dots keep the same winner and
// converge byte for byte (docs/GUARANTEES.md, G3).

// propsOf is the effective props of key's bucket under the current table.
func (r *Replica) propsOf(key []byte) bucket.Props {
	return r.cfg.Buckets().PropsOf(key)
}

// resolve is what a replica stores of s for a key with props: s itself,
// or its one winner in an lww bucket.
func resolve(s vclock.Set, props bucket.Props) vclock.Set {
	if props.Conflict == bucket.LWW {
		return s.LastWriterWins()
	}
	return s
}

// lwwContext is the context a write is minted with. In an lww bucket it is
// the client's context merged with everything the replica holds for the
// key, so the new version supersedes all of it; the client's own context
// was checked before (claims.go), and cur's dots are the replica's own
// knowledge, so the merge claims nothing new.
func lwwContext(ctx vclock.Context, cur vclock.Set, props bucket.Props) vclock.Context {
	if props.Conflict == bucket.LWW {
		return ctx.Merge(cur.Context)
	}
	return ctx
}

// mergeHints is the hint queue's merge: hints for one key and target
// coalesce into their causal merge, resolved as the key's bucket resolves
// its versions.
func (r *Replica) mergeHints(key, a, b []byte) ([]byte, error) {
	x, err := vclock.DecodeSet(a)
	if err != nil {
		return nil, fmt.Errorf("decode hint: %w", err)
	}
	y, err := vclock.DecodeSet(b)
	if err != nil {
		return nil, fmt.Errorf("decode hint: %w", err)
	}
	return resolve(x.Merge(y), r.propsOf(key)).Encode(), nil
}
