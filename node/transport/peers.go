package transport

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dynkv/dynkv/merkle"
	"github.com/dynkv/dynkv/node/internal/wire"
	"github.com/dynkv/dynkv/node/membership"
	"github.com/dynkv/dynkv/vclock"
)

// Local is this node's own replica as Peers calls it: the generic handler,
// and fast paths for the hot operations that skip encoding a whole sibling
// set only to decode it again (which cost more than the read). The fast
// paths refuse exactly as HandleInternode would.
type Local interface {
	Handler
	ReadLocal(key []byte) (vclock.Set, error)
	MintLocal(req wire.WriteRequest) (wire.WriteResponse, error)
}

// PeersConfig configures Peers.
type PeersConfig struct {
	Self  string // this node's ID: calls to it go to Local
	Local Local
	// Transport reaches a peer at its InternodeAddr, or at its HTTPAddr
	// when it announces none (in-memory networks name nodes, not ports).
	// No node serves internode requests on its client port: peers that
	// could reach that port, clients, could then bypass quorums and the
	// peers' authentication (docs/SECURITY.md).
	Transport Transport
	// Health learns from every remote call whether the peer answered.
	Health *membership.Health
	// Observe, if set, sees every remote call's operation, error and
	// duration (metrics).
	Observe func(op wire.Op, err error, d time.Duration)
}

// Peers makes typed internode calls to a target, local or remote.
type Peers struct {
	cfg   PeersConfig
	bytes *Bytes // nil: not counting
}

// NewPeers returns the typed client.
func NewPeers(cfg PeersConfig) *Peers { return &Peers{cfg: cfg} }

// Counting returns Peers whose calls add what they send and receive to b
// (anti-entropy reports its cost).
func (p *Peers) Counting(b *Bytes) *Peers { return &Peers{cfg: p.cfg, bytes: b} }

// call sends one request to m; this node's replica is called directly.
func (p *Peers) call(ctx context.Context, m membership.Member, op wire.Op, body []byte) (out []byte, err error) {
	defer func() { p.bytes.add(body, out) }()
	if m.ID == p.cfg.Self {
		out, err = p.cfg.Local.HandleInternode(ctx, op, body)
		if err != nil {
			// Exactly what a peer would have answered, so callers treat
			// local and remote refusals alike.
			return nil, wire.AsRemoteError(err)
		}
		return out, nil
	}
	tr, addr := p.cfg.Transport, m.InternodeAddr
	if addr == "" {
		addr = m.HTTPAddr
	}
	start := time.Now()
	out, err = tr.Call(ctx, m.ID, addr, op, body)
	if p.cfg.Observe != nil {
		p.cfg.Observe(op, err, time.Since(start))
	}
	var re *wire.RemoteError
	switch {
	case err == nil:
		p.cfg.Health.Succeeded(m.ID)
	case errors.As(err, &re) && re.Code == wire.CodeShuttingDown:
		p.cfg.Health.Failed(m.ID)
	case errors.As(err, &re):
		p.cfg.Health.Succeeded(m.ID) // it answered
	default:
		p.cfg.Health.Failed(m.ID)
	}
	return out, err
}

// hinted sends op to a target: to a replica as is, to a fallback wrapped
// with the replica it stands in for.
func (p *Peers) hinted(ctx context.Context, t membership.Target, op, hintOp wire.Op, body []byte) ([]byte, error) {
	if t.HintFor == "" {
		return p.call(ctx, t.Member, op, body)
	}
	return p.call(ctx, t.Member, hintOp, wire.EncodeHinted(t.HintFor, body))
}

func (p *Peers) isSelf(t membership.Target) bool { return t.HintFor == "" && t.ID == p.cfg.Self }

// Read returns the target's state for key (a fallback's: its hint).
func (p *Peers) Read(ctx context.Context, t membership.Target, key []byte) (vclock.Set, error) {
	if p.isSelf(t) {
		s, err := p.cfg.Local.ReadLocal(key)
		if err != nil {
			return vclock.Set{}, wire.AsRemoteError(err)
		}
		return s, nil
	}
	out, err := p.hinted(ctx, t, wire.OpRead, wire.OpHintRead, wire.ReadRequest{Key: key}.Encode())
	if err != nil {
		return vclock.Set{}, err
	}
	resp, err := wire.DecodeReadResponse(out)
	return resp.Set, err
}

// Mint asks the target to mint a dot for a client write and apply it.
func (p *Peers) Mint(ctx context.Context, t membership.Target, req wire.WriteRequest) (wire.WriteResponse, error) {
	if p.isSelf(t) {
		resp, err := p.cfg.Local.MintLocal(req)
		if err != nil {
			return wire.WriteResponse{}, wire.AsRemoteError(err)
		}
		return resp, nil
	}
	out, err := p.hinted(ctx, t, wire.OpWrite, wire.OpHintWrite, req.Encode())
	if err != nil {
		return wire.WriteResponse{}, err
	}
	return wire.DecodeWriteResponse(out)
}

// Merge sends an encoded MergeRequest (wire.MergeRequest.Encode or
// wire.EncodeMerge), encoded once for every target.
func (p *Peers) Merge(ctx context.Context, t membership.Target, body []byte) error {
	_, err := p.hinted(ctx, t, wire.OpMerge, wire.OpHintMerge, body)
	return err
}

// Reap asks a replica to forget a key whose state is exactly the encoded
// MergeRequest's.
func (p *Peers) Reap(ctx context.Context, m membership.Member, body []byte) error {
	_, err := p.call(ctx, m, wire.OpReap, body)
	return err
}

// TreeChildren returns the hashes of the children of the named tree
// nodes (no indexes: the root's own hash).
func (p *Peers) TreeChildren(ctx context.Context, m membership.Member, req wire.TreeRequest) ([]uint64, error) {
	out, err := p.call(ctx, m, wire.OpTreeChildren, req.Encode())
	if err != nil {
		return nil, err
	}
	hs, err := merkle.DecodeHashes(out)
	if err != nil {
		return nil, fmt.Errorf("%w: tree hashes: %v", wire.ErrBadMessage, err)
	}
	return hs, nil
}

// TreeEntries returns the (key, hash) entries of the named leaves.
func (p *Peers) TreeEntries(ctx context.Context, m membership.Member, req wire.TreeRequest) ([]merkle.Entry, error) {
	out, err := p.call(ctx, m, wire.OpTreeEntries, req.Encode())
	if err != nil {
		return nil, err
	}
	es, err := merkle.DecodeEntries(out)
	if err != nil {
		return nil, fmt.Errorf("%w: tree entries: %v", wire.ErrBadMessage, err)
	}
	return es, nil
}

// List asks m for one page of a partition's live keys.
func (p *Peers) List(ctx context.Context, m membership.Member, req wire.ListRequest) (wire.ListResponse, error) {
	out, err := p.call(ctx, m, wire.OpList, req.Encode())
	if err != nil {
		return wire.ListResponse{}, err
	}
	return wire.DecodeListResponse(out)
}

// Status asks m for its own report (wire.OpStatus) and returns its JSON
// document. This node's own report is the caller's to make: Local is the
// replica, which has no report of the node.
func (p *Peers) Status(ctx context.Context, m membership.Member) ([]byte, error) {
	out, err := p.call(ctx, m, wire.OpStatus, wire.StatusRequest{}.Encode())
	if err != nil {
		return nil, err
	}
	resp, err := wire.DecodeStatusResponse(out)
	return resp.JSON, err
}

// Bytes counts what a sequence of calls sent and received; a nil *Bytes
// counts nothing. Not safe for concurrent use: one exchange at a time.
type Bytes struct{ Sent, Received int64 }

func (b *Bytes) add(sent, received []byte) {
	if b != nil {
		b.Sent += int64(len(sent))
		b.Received += int64(len(received))
	}
}
