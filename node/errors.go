package node

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/dynkv/dynkv/node/internal/wire"
	"github.com/dynkv/dynkv/node/membership"
)

// Stable machine-readable error codes of the client API (SPEC §3).
const (
	CodeBadKey            = "bad_key"
	CodeBadQuorum         = "bad_quorum"
	CodeBadContext        = "bad_context"
	CodeNotFound          = "not_found"
	CodeUnknownRoute      = "unknown_route"
	CodeMethodNotAllowed  = "method_not_allowed"
	CodeTooManySiblings   = "too_many_siblings"
	CodeValueTooLarge     = "value_too_large"
	CodeQuorumUnavailable = "quorum_unavailable"
	CodeTimeout           = "timeout"
	CodeInternal          = "internal"
	CodeShuttingDown      = "shutting_down"
)

// APIError is an error a client sees: an HTTP status, a stable code, a
// sentence, and for quorum failures how many replicas answered.
type APIError struct {
	Status   int
	Code     string
	Message  string
	Acks     int
	Required int
}

func (e *APIError) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Message) }

// Sentinels for errors.Is; the APIError carries the detail.
var (
	ErrQuorumUnavailable = errors.New("quorum unavailable")
	ErrTooManySiblings   = errors.New("too many siblings")
)

// Is lets errors.Is match an APIError against the sentinels by code.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrQuorumUnavailable:
		return e.Code == CodeQuorumUnavailable
	case ErrTooManySiblings:
		return e.Code == CodeTooManySiblings
	}
	return false
}

func badRequest(code, format string, args ...any) *APIError {
	return &APIError{Status: http.StatusBadRequest, Code: code, Message: fmt.Sprintf(format, args...)}
}

func quorumError(op string, acks, required int, why ...string) *APIError {
	return &APIError{
		Status: http.StatusServiceUnavailable, Code: CodeQuorumUnavailable,
		Message: fmt.Sprintf("%s reached %d of the %d replicas required%s", op, acks, required, because(why)),
		Acks:    acks, Required: required,
	}
}

func timeoutError(op string, acks, required int, why ...string) *APIError {
	return &APIError{
		Status: http.StatusGatewayTimeout, Code: CodeTimeout,
		Message: fmt.Sprintf("%s timed out with %d of the %d replicas required%s", op, acks, required, because(why)),
		Acks:    acks, Required: required,
	}
}

func tooManySiblingsRemote(limit int) *wire.RemoteError {
	return &wire.RemoteError{
		Code:    wire.CodeTooManySiblings,
		Message: fmt.Sprintf("the write would give the key more than %d siblings; read it, resolve the siblings and write back with the context", limit),
	}
}

// apiErrorFromRemote restores a client-facing error refused by a peer.
func apiErrorFromRemote(re *wire.RemoteError) *APIError {
	switch re.Code {
	case CodeTooManySiblings:
		return &APIError{Status: http.StatusConflict, Code: re.Code, Message: re.Message}
	case CodeValueTooLarge:
		return &APIError{Status: http.StatusRequestEntityTooLarge, Code: re.Code, Message: re.Message}
	case CodeBadKey, CodeBadContext:
		return &APIError{Status: http.StatusBadRequest, Code: re.Code, Message: re.Message}
	}
	return nil
}

func asAPIError(err error, target **APIError) bool { return errors.As(err, target) }

// because renders per-replica failure reasons for an error message.
func because(why []string) string {
	if len(why) == 0 {
		return ""
	}
	return " (" + strings.Join(why, "; ") + ")"
}

// replicaFailure is one replica's reason, short enough for a client message.
func replicaFailure(m membership.Member, err error) string {
	var re *wire.RemoteError
	switch {
	case errors.As(err, &re):
		return fmt.Sprintf("%s refused: %s", m.ID, re.Code)
	case errors.Is(err, context.DeadlineExceeded):
		return m.ID + ": no answer in time"
	case errors.Is(err, wire.ErrUnreachable):
		return m.ID + ": unreachable"
	}
	return fmt.Sprintf("%s: %v", m.ID, err)
}
