package node

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/dynkv/dynkv/node/coordinator"
	"github.com/dynkv/dynkv/node/internal/wire"
)

// This file is the one place that knows HTTP statuses: every error the
// parts return (the coordinator's QuorumError, a replica's refusal) is
// turned into the client API's answer here.

// Stable machine-readable error codes of the client API (docs/API.md).
const (
	CodeBadKey            = wire.CodeBadKey
	CodeBadQuorum         = "bad_quorum"
	CodeBadContext        = wire.CodeBadContext
	CodeContextMismatch   = "context_mismatch"
	CodeNotFound          = "not_found"
	CodeUnknownRoute      = "unknown_route"
	CodeMethodNotAllowed  = "method_not_allowed"
	CodeTooManySiblings   = wire.CodeTooManySiblings
	CodeValueTooLarge     = wire.CodeValueTooLarge
	CodeQuorumUnavailable = "quorum_unavailable"
	CodeTimeout           = "timeout"
	CodeInternal          = "internal"
	CodeShuttingDown      = wire.CodeShuttingDown
	CodeBadRequest        = "bad_request"
	CodeHeadersTooLarge   = "headers_too_large"
	CodeOverloaded        = "overloaded"
)

// CodeInsufficientStorage (507): every replica asked to take the write is
// below its free-space floor; reads still work.
const CodeInsufficientStorage = wire.CodeInsufficientStorage

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

// apiError turns a part's error into the client's; nil stays nil, and an
// error it does not know is a 500.
func apiError(err error) error {
	if err == nil {
		return nil
	}
	var ae *APIError
	var qe *coordinator.QuorumError
	var re *wire.RemoteError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.Is(err, coordinator.ErrBadQuorum):
		return badRequest(CodeBadQuorum, "%v", err)
	case errors.Is(err, coordinator.ErrValueTooLarge):
		return &APIError{Status: http.StatusRequestEntityTooLarge, Code: CodeValueTooLarge, Message: err.Error()}
	case errors.As(err, &qe):
		e := &APIError{Status: http.StatusServiceUnavailable, Code: CodeQuorumUnavailable, Message: qe.Error(), Acks: qe.Acks, Required: qe.Required}
		if qe.TimedOut {
			e.Status, e.Code = http.StatusGatewayTimeout, CodeTimeout
		}
		return e
	case errors.As(err, &re):
		return refusalError(re)
	}
	return &APIError{Status: http.StatusInternalServerError, Code: CodeInternal, Message: err.Error()}
}

// refusalError restores a client-facing error refused by a replica.
func refusalError(re *wire.RemoteError) *APIError {
	switch re.Code {
	case CodeTooManySiblings:
		return &APIError{Status: http.StatusConflict, Code: re.Code, Message: re.Message}
	case CodeValueTooLarge:
		return &APIError{Status: http.StatusRequestEntityTooLarge, Code: re.Code, Message: re.Message}
	case CodeBadKey, CodeBadContext:
		return &APIError{Status: http.StatusBadRequest, Code: re.Code, Message: re.Message}
	case CodeShuttingDown:
		return shuttingDownAPI()
	case CodeInsufficientStorage:
		return &APIError{Status: http.StatusInsufficientStorage, Code: re.Code, Message: re.Message}
	}
	return &APIError{Status: http.StatusInternalServerError, Code: CodeInternal, Message: fmt.Sprintf("replica refused the request: %s", re.Message)}
}

// shuttingDownAPI is a stopping node's answer to clients: 503, which the
// SDK retries elsewhere because nothing was applied.
func shuttingDownAPI() *APIError {
	return &APIError{Status: http.StatusServiceUnavailable, Code: CodeShuttingDown, Message: "node is shutting down"}
}

func asAPIError(err error, target **APIError) bool { return errors.As(err, target) }
