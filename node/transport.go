package node

import (
	"context"
	"errors"
	"fmt"
)

// Transport carries internode requests. Implementations must be safe for
// concurrent use and must honour ctx's deadline.
type Transport interface {
	// Call sends body for op to the node serving addr and returns the
	// response body, which the caller owns. A *RemoteError means the peer
	// answered and refused; any other error means it could not be reached
	// or did not answer in time (wrapping ErrUnreachable or a context error).
	Call(ctx context.Context, addr string, op Op, body []byte) ([]byte, error)
}

// InternodeHandler answers internode requests; the Node implements it. The
// body is only valid during the call.
type InternodeHandler interface {
	HandleInternode(ctx context.Context, op Op, body []byte) ([]byte, error)
}

// ErrUnreachable is wrapped by transport errors where the peer did not
// answer: refused connections, cut links, dropped messages.
var ErrUnreachable = errors.New("peer unreachable")

// RemoteError is a refusal from a peer that did answer. Code is one of the
// stable error codes of the client API (e.g. too_many_siblings).
type RemoteError struct {
	Code    string
	Message string
}

func (e *RemoteError) Error() string { return fmt.Sprintf("peer refused: %s: %s", e.Code, e.Message) }

// Internode error codes beyond the client API's.
const (
	codeBadMessage = "bad_message"
	codeInternal   = "internal"
)

// encodeRemoteError is the body of a refused internode request.
func encodeRemoteError(e *RemoteError) []byte {
	b := appendBytes([]byte{wireVersion}, []byte(e.Code))
	return appendBytes(b, []byte(e.Message))
}

func decodeRemoteError(b []byte) *RemoteError {
	r := newWireReader(b)
	e := &RemoteError{Code: string(r.bytes()), Message: string(r.bytes())}
	if err := r.finish(); err != nil || e.Code == "" {
		return &RemoteError{Code: codeBadMessage, Message: fmt.Sprintf("undecodable error body (%d bytes)", len(b))}
	}
	return e
}

// asRemoteError turns a handler error into what goes on the wire.
func asRemoteError(err error) *RemoteError {
	var re *RemoteError
	if errors.As(err, &re) {
		return re
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return &RemoteError{Code: ae.Code, Message: ae.Message}
	}
	if errors.Is(err, ErrBadMessage) {
		return &RemoteError{Code: codeBadMessage, Message: err.Error()}
	}
	return &RemoteError{Code: codeInternal, Message: err.Error()}
}
