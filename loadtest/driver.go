package loadtest

import (
	"context"
	"errors"
	"fmt"
)

// A Driver connects the generator to one store. It must be safe for
// concurrent use; each worker gets its own Client.
type Driver interface {
	// Name is the store's name in reports ("dynkv", "redis").
	Name() string
	// Causal reports whether the store versions values with causal
	// contexts (Token). The generator then never updates a key without the
	// context of an earlier read or write of it: lacking one, it reads
	// first. Stores without contexts (last writer wins) are written blind.
	Causal() bool
	// Check fails unless every endpoint answers, so a misconfigured run
	// stops before it starts.
	Check(ctx context.Context) error
	// NewClient returns the client of worker i (from 0); drivers with
	// several endpoints spread workers over them by i.
	NewClient(i int) (Client, error)
	// Close releases what the driver holds; clients are closed first.
	Close() error
}

// A Client is one worker's connection: one request at a time, never used
// concurrently. Results point into buffers the client reuses: they are
// valid until its next call.
type Client interface {
	// Read fetches key into res. A missing key is not an error: res.Found
	// is false.
	Read(ctx context.Context, key []byte, res *ReadResult) error
	// Write stores value under key with the causal token of an earlier
	// read or write (empty: a blind write) and puts the new version's token
	// in res.
	Write(ctx context.Context, key, value, token []byte, res *WriteResult) error
	Close() error
}

// ReadResult is what a read returned.
type ReadResult struct {
	Found bool
	// Values holds every live version: one, or several siblings.
	Values [][]byte
	// Token is the opaque causal context covering Values; empty for stores
	// without one.
	Token []byte
}

// WriteResult is what an acknowledged write returned.
type WriteResult struct {
	// Token is the causal context of the new version (empty for stores
	// without one).
	Token []byte
}

// OpError is a failed operation, with a short kind for the report:
// the store's own error code when it sends one ("quorum_unavailable",
// "timeout", "too_many_siblings"), or "connection", "client_timeout",
// "http_<status>", "redis_<PREFIX>", "protocol".
type OpError struct {
	Kind string
	Err  error
}

func (e *OpError) Error() string { return fmt.Sprintf("%s: %v", e.Kind, e.Err) }
func (e *OpError) Unwrap() error { return e.Err }

// Error kinds the drivers share.
const (
	KindConnection    = "connection"
	KindClientTimeout = "client_timeout"
	KindProtocol      = "protocol"
	KindOther         = "other"
)

// ErrorKind is err's kind for the report.
func ErrorKind(err error) string {
	var oe *OpError
	if errors.As(err, &oe) {
		return oe.Kind
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return KindClientTimeout
	}
	if errors.Is(err, context.Canceled) {
		return "canceled"
	}
	return KindOther
}
