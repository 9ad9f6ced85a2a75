package coordinator

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/dynkv/dynkv/node/internal/wire"
	"github.com/dynkv/dynkv/node/membership"
)

// QuorumError is a request that did not reach its quorum: too few replicas
// could be reached (Unavailable), or one that might have answered ran out
// of time (TimedOut).
type QuorumError struct {
	Op       string // "read" or "write"
	TimedOut bool
	Acks     int
	Required int
	Why      []string // per replica, short enough for a client message
}

func (e *QuorumError) Error() string {
	verb := "reached"
	if e.TimedOut {
		verb = "timed out with"
	}
	return fmt.Sprintf("%s %s %d of the %d replicas required%s", e.Op, verb, e.Acks, e.Required, because(e.Why))
}

// because renders per-replica failure reasons for an error message.
func because(why []string) string {
	if len(why) == 0 {
		return ""
	}
	return " (" + strings.Join(why, "; ") + ")"
}

// finalCodes are the refusals another replica would answer alike: the
// request is refused, not retried elsewhere.
func isFinal(err error) bool {
	var re *wire.RemoteError
	if !errors.As(err, &re) {
		return false
	}
	switch re.Code {
	case wire.CodeTooManySiblings, wire.CodeValueTooLarge, wire.CodeBadKey, wire.CodeBadContext, wire.CodeBadMessage:
		return true
	}
	return false
}

// isFull reports a replica that refused a write because its disk is below
// the free-space floor. Unlike the codes isFinal lists this is not final:
// another replica has a disk of its own. The mint therefore moves on to the
// next candidate, and a merge counts the full replica as failed (kindOf),
// so that a stand-in takes its share as it would a crashed replica's. Only
// when every candidate asked to mint was full does the write fail with the
// refusal itself (put.go), which the client sees as 507.
func isFull(err error) bool {
	var re *wire.RemoteError
	return errors.As(err, &re) && re.Code == wire.CodeInsufficientStorage
}

// kindOf classifies a replica's answer for the quorum core.
func kindOf(err error) ReplyKind {
	var re *wire.RemoteError
	switch {
	case err == nil:
		return ReplyOK
	case errors.Is(err, context.DeadlineExceeded):
		return ReplyTimeout
	case isFinal(err):
		return ReplyRefused
	case errors.As(err, &re):
		return ReplyFailed // it answered, but another replica may not refuse
	}
	return ReplyFailed
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

// failure turns a tally that failed into the request's error.
func failure(op string, o Outcome, acks, required int, why []string) *QuorumError {
	return &QuorumError{Op: op, TimedOut: o == TimedOut, Acks: acks, Required: required, Why: why}
}
