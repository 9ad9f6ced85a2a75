package transport

import (
	"context"

	"github.com/dynkv/dynkv/node/internal/wire"
)

// Transport carries internode requests. Implementations must be safe for
// concurrent use and must honour ctx's deadline.
type Transport interface {
	// Call sends body for op to node, serving at addr, and returns the
	// response body, which the caller owns. A *wire.RemoteError means the
	// peer answered and refused; any other error means it could not be
	// reached or did not answer in time (wrapping wire.ErrUnreachable or a
	// context error). node is the ID the peer must prove it has when the
	// transport authenticates peers ("": any node of the cluster).
	Call(ctx context.Context, node, addr string, op wire.Op, body []byte) ([]byte, error)
	// Close ends every connection; calls in flight and later ones fail.
	Close() error
}

// Handler answers internode requests; a node's replica implements it. The
// body is only valid during the call.
type Handler interface {
	HandleInternode(ctx context.Context, op wire.Op, body []byte) ([]byte, error)
}

// ErrUnreachable is wrapped by every error where the peer did not answer.
var ErrUnreachable = wire.ErrUnreachable

var (
	_ Transport = (*FramedTransport)(nil)
	_ Transport = memEndpoint{}
)
