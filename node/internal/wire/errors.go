package wire

import (
	"errors"
	"fmt"
)

// ErrBadMessage is wrapped by every decoding error.
var ErrBadMessage = errors.New("malformed internode message")

// ErrUnreachable is wrapped by transport errors where the peer did not
// answer: refused connections, cut links, dropped messages. It lives here,
// beside RemoteError, so that a caller can tell "refused" from "no answer"
// without depending on any one transport.
var ErrUnreachable = errors.New("peer unreachable")

// Refusal codes. The first group is shared with the client API, which maps
// each to its HTTP status; the rest are internode only.
const (
	CodeBadKey          = "bad_key"
	CodeBadContext      = "bad_context"
	CodeTooManySiblings = "too_many_siblings"
	CodeValueTooLarge   = "value_too_large"
	CodeShuttingDown    = "shutting_down"
	// CodeInsufficientStorage: the replica's disk is below its free-space
	// floor; it refuses writes and still serves reads.
	CodeInsufficientStorage = "insufficient_storage"

	// CodeBadMessage: the peer could not decode the request.
	CodeBadMessage = "bad_message"
	// CodeInternal: the peer failed applying it (its store, say).
	CodeInternal = "internal"
	// CodeNotReady: the peer's tree for the partition is still building.
	CodeNotReady = "not_ready"
)

// RemoteError is a refusal from a peer that did answer.
type RemoteError struct {
	Code    string
	Message string
}

func (e *RemoteError) Error() string { return fmt.Sprintf("peer refused: %s: %s", e.Code, e.Message) }

// EncodeRemoteError is the body of a refused request.
func EncodeRemoteError(e *RemoteError) []byte {
	b := appendBytes([]byte{Version}, []byte(e.Code))
	return appendBytes(b, []byte(e.Message))
}

// DecodeRemoteError never fails: an undecodable body is itself reported as
// a bad_message refusal.
func DecodeRemoteError(b []byte) *RemoteError {
	r := newReader(b)
	e := &RemoteError{Code: string(r.bytes()), Message: string(r.bytes())}
	if err := r.finish(); err != nil || e.Code == "" {
		return &RemoteError{Code: CodeBadMessage, Message: fmt.Sprintf("undecodable error body (%d bytes)", len(b))}
	}
	return e
}

// AsRemoteError turns a handler's error into what goes on the wire.
func AsRemoteError(err error) *RemoteError {
	var re *RemoteError
	if errors.As(err, &re) {
		return re
	}
	if errors.Is(err, ErrBadMessage) {
		return &RemoteError{Code: CodeBadMessage, Message: err.Error()}
	}
	return &RemoteError{Code: CodeInternal, Message: err.Error()}
}

// ShuttingDown is what a stopping replica answers, to peers and to its own
// coordinator alike.
func ShuttingDown() *RemoteError {
	return &RemoteError{Code: CodeShuttingDown, Message: "node is shutting down"}
}
