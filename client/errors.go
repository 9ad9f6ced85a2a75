package client

import (
	"errors"
	"fmt"
	"net/http"
)

// Sentinel errors, for errors.Is. Errors from the server are *APIError
// values that match the sentinel of their code; use errors.As to read the
// detail.
var (
	// ErrNotFound: the key is absent or deleted (404 not_found).
	ErrNotFound = errors.New("not found")
	// ErrBadRequest: the server refused the request as malformed, nothing
	// was written: a bad key, quorum or causal context (400), headers
	// beyond what the node reads (431 headers_too_large), or the client
	// refused it before sending.
	ErrBadRequest = errors.New("bad request")
	// ErrValueTooLarge: the value exceeds the cluster's --max-value-bytes
	// (413 value_too_large); nothing was written.
	ErrValueTooLarge = errors.New("value too large")
	// ErrTooManySiblings: the write would push the key past the sibling cap
	// (409 too_many_siblings); nothing was written. Read, resolve the
	// siblings and write back with the context.
	ErrTooManySiblings = errors.New("too many siblings")
	// ErrQuorumUnavailable: fewer than R (or W) replicas could be reached
	// (503 quorum_unavailable). A failed write may still have been taken by
	// Acks replicas.
	ErrQuorumUnavailable = errors.New("quorum unavailable")
	// ErrTimeout: replicas did not answer in time (504 timeout), the node
	// did not receive the request in time (408), an attempt exceeded
	// WithAttemptTimeout, or the caller's deadline passed (then the error
	// also matches context.DeadlineExceeded).
	ErrTimeout = errors.New("timeout")
	// ErrShuttingDown: the node is stopping (503 shutting_down). The client
	// fails over on it; callers see it only when every endpoint said so.
	ErrShuttingDown = errors.New("node shutting down")
	// ErrOverloaded: the node holds too many request bytes already (503
	// overloaded) and refused the request before reading it, so nothing
	// was applied. The client fails over on it, writes included; callers
	// see it only when every endpoint said so.
	ErrOverloaded = errors.New("node overloaded")
	// ErrInsufficientStorage: every replica asked to take the write is
	// below its free-space floor (507 insufficient_storage); nothing was
	// written. Reads still work; writes resume once space is freed.
	ErrInsufficientStorage = errors.New("insufficient storage")
	// ErrInternal: the server failed unexpectedly (500 internal).
	ErrInternal = errors.New("internal server error")
	// ErrUnavailable: no endpoint could be reached (every attempt failed to
	// connect or broke off), or a call aimed at one node (Leave, Handoffs,
	// Metrics) could not reach it. The error also wraps the last attempt's
	// network error.
	ErrUnavailable = errors.New("no endpoint reachable")
	// ErrUnknownNode: the node named is not a member of the cluster (404
	// unknown_node, or absent from the member list).
	ErrUnknownNode = errors.New("unknown node")
	// ErrCannotRemove: the node refused to remove a member (409
	// cannot_remove): the member is alive (make it leave instead, or stop it
	// first) or is the node asked.
	ErrCannotRemove = errors.New("cannot remove node")
	// ErrAlreadyLeft: the node has already left the cluster (it left, or
	// was removed); there is nothing more to do.
	ErrAlreadyLeft = errors.New("node has already left the cluster")
	// ErrUnauthenticated: the request carried no token, or one the node
	// does not know (401 unauthenticated); see WithToken. Nothing was
	// applied, and no other endpoint is tried: every node reads the same
	// tokens file, so another would refuse too.
	ErrUnauthenticated = errors.New("unauthenticated")
	// ErrForbidden: the token is valid but its role does not allow the
	// request (403 forbidden), a read token writing say; nothing was
	// applied, and no other endpoint is tried.
	ErrForbidden = errors.New("forbidden")
)

// Error codes of the HTTP API (docs/API.md), as found in APIError.Code.
const (
	CodeBadKey            = "bad_key"
	CodeBadQuorum         = "bad_quorum"
	CodeBadContext        = "bad_context"
	CodeBadRequest        = "bad_request"
	CodeNotFound          = "not_found"
	CodeUnknownRoute      = "unknown_route"
	CodeMethodNotAllowed  = "method_not_allowed"
	CodeRequestTimeout    = "request_timeout"
	CodeTooManySiblings   = "too_many_siblings"
	CodeValueTooLarge     = "value_too_large"
	CodeQuorumUnavailable = "quorum_unavailable"
	CodeShuttingDown      = "shutting_down"
	CodeTimeout           = "timeout"
	CodeInternal          = "internal"
	CodeBadNode           = "bad_node"
	CodeUnknownNode       = "unknown_node"
	CodeCannotRemove      = "cannot_remove"
)

// Codes of a node's refusal to serve a client it cannot identify or whose
// role is too low: see ErrUnauthenticated and ErrForbidden.
const (
	CodeUnauthenticated = "unauthenticated"
	CodeForbidden       = "forbidden"
)

// CodeInsufficientStorage is the code of a 507 answer: see
// ErrInsufficientStorage.
const CodeInsufficientStorage = "insufficient_storage"

// Codes of requests a node refused before reading them: see ErrOverloaded,
// and ErrBadRequest for headers_too_large (431: request headers, the
// causal context among them, beyond what the node reads).
const (
	CodeOverloaded      = "overloaded"
	CodeHeadersTooLarge = "headers_too_large"
)

// APIError is an error answer from a dynkv node.
type APIError struct {
	// Status is the HTTP status, Code the stable machine-readable code
	// (one of the Code constants, or a newer one), Message the server's
	// sentence.
	Status  int
	Code    string
	Message string
	// Acks and Required are set for quorum_unavailable and timeout: the
	// replicas that answered in time and the quorum that was needed.
	Acks, Required int
	// Node is the node that answered (its X-Dynkv-Node header), Endpoint
	// the address the request was sent to.
	Node, Endpoint string
}

func (e *APIError) Error() string {
	s := e.Code
	if s == "" {
		s = fmt.Sprintf("HTTP %d", e.Status)
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	who := e.Node
	if who == "" {
		who = e.Endpoint
	}
	if who != "" {
		s += " (from " + who + ")"
	}
	return s
}

// Is matches the sentinel errors by code, or by status for codes this
// client does not know.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.Code == CodeNotFound
	case ErrBadRequest:
		return e.Status == http.StatusBadRequest || e.Status == http.StatusRequestHeaderFieldsTooLarge
	case ErrValueTooLarge:
		return e.Status == http.StatusRequestEntityTooLarge
	case ErrTooManySiblings:
		return e.Code == CodeTooManySiblings
	case ErrQuorumUnavailable:
		return e.Code == CodeQuorumUnavailable
	case ErrTimeout:
		return e.Status == http.StatusGatewayTimeout || e.Status == http.StatusRequestTimeout
	case ErrShuttingDown:
		return e.Code == CodeShuttingDown
	case ErrOverloaded:
		return e.Code == CodeOverloaded
	case ErrInsufficientStorage:
		return e.Status == http.StatusInsufficientStorage
	case ErrInternal:
		return e.Status == http.StatusInternalServerError
	case ErrUnknownNode:
		return e.Code == CodeUnknownNode
	case ErrCannotRemove:
		return e.Code == CodeCannotRemove
	case ErrUnauthenticated:
		return e.Status == http.StatusUnauthorized
	case ErrForbidden:
		return e.Status == http.StatusForbidden
	}
	return false
}

// timeoutError is a client-side timeout: an attempt that ran out of
// WithAttemptTimeout, or the caller's context deadline.
type timeoutError struct {
	what string
	err  error // context.DeadlineExceeded or the transport's error
}

func (e *timeoutError) Error() string { return e.what + ": " + e.err.Error() }
func (e *timeoutError) Unwrap() []error {
	return []error{ErrTimeout, e.err}
}

// errorf wraps err with the operation and key it concerns.
func opError(op, key string, err error) error {
	if key == "" {
		return fmt.Errorf("client: %s: %w", op, err)
	}
	return fmt.Errorf("client: %s %s: %w", op, quoteKey(key), err)
}

// quoteKey renders a key for an error message: quoted, and cut short if
// long (keys may be up to 1 KiB of any bytes).
func quoteKey(key string) string {
	const max = 64
	if len(key) > max {
		return fmt.Sprintf("%q…", key[:max])
	}
	return fmt.Sprintf("%q", key)
}
