package bucket

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Conflict is how a bucket keeps concurrent writes.
type Conflict string

const (
	// Siblings keeps every concurrent write as a sibling for the client to
	// reconcile: no acknowledged write is lost (docs/GUARANTEES.md, G4).
	Siblings Conflict = "siblings"
	// LWW keeps one version of concurrent writes, the one stamped latest
	// (ties broken by the dot): it loses the others, as Riak's
	// allow_mult=false does. Writes that saw each other are ordered by
	// causality, as in Siblings, whatever the clocks say.
	LWW Conflict = "lww"
)

// MaxN bounds a bucket's replicas: it bounds the tree classes each node
// keeps (one per distinct N) and is far above any real need.
const MaxN = 16

// MaxTTL bounds a default TTL, as the wire bounds a write's.
const MaxTTL = 100 * 365 * 24 * time.Hour

// ErrBadProps is wrapped by every props validation error.
var ErrBadProps = errors.New("bucket: bad props")

// Props are a bucket's settings. In a Registry a zero field means "the
// cluster default" (Table fills it in); in a Table's answer every field is
// set except DefaultTTL (0: none).
type Props struct {
	// N is how many replicas hold each key: 1..MaxN, the first N members of
	// the key's partition walk.
	N int `json:"n,omitempty"`
	// R and W are the default read and write quorums: 1..N.
	R int `json:"r,omitempty"`
	W int `json:"w,omitempty"`
	// MaxSiblings caps a key's siblings, at most the node's own cap.
	MaxSiblings int `json:"max_siblings,omitempty"`
	// MaxValueBytes caps a value, at most the node's own cap.
	MaxValueBytes int `json:"max_value_bytes,omitempty"`
	// DefaultTTL is the TTL of a write that gives none.
	DefaultTTL Duration `json:"default_ttl,omitempty"`
	// Conflict is Siblings or LWW.
	Conflict Conflict `json:"conflict,omitempty"`
}

// Duration is a time.Duration that reads as a Go duration ("30m") or a
// whole number of seconds, and writes as a Go duration.
type Duration time.Duration

// MarshalJSON writes the Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads "30m", "90s", "3600", or a JSON number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	s := strings.TrimSpace(string(b))
	if uq, err := strconv.Unquote(s); err == nil {
		s = uq
	}
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// ParseDuration reads a Go duration or a whole number of seconds; the
// empty string and "0" are zero.
func ParseDuration(s string) (time.Duration, error) {
	if s == "" || s == "0" {
		return 0, nil
	}
	if secs, err := strconv.ParseInt(s, 10, 64); err == nil {
		if secs < 0 || secs > int64(MaxTTL/time.Second) {
			return 0, fmt.Errorf("%w: %d seconds is outside 0..%d", ErrBadProps, secs, int64(MaxTTL/time.Second))
		}
		return time.Duration(secs) * time.Second, nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%w: %q is neither a duration (30m, 1h) nor whole seconds", ErrBadProps, s)
	}
	return v, nil
}

// Limits are the node's own ceilings and defaults that props are checked
// against and filled from.
type Limits struct {
	N, R, W       int // the cluster's N and default quorums
	MaxSiblings   int
	MaxValueBytes int
}

// Resolve fills p's zero fields from l and returns the effective props.
// R and W default to l's quorums, capped at N.
func (p Props) Resolve(l Limits) Props {
	out := p
	if out.N == 0 {
		out.N = l.N
	}
	if out.R == 0 {
		out.R = min(l.R, out.N)
		if p.N != 0 && p.N != l.N {
			out.R = out.N/2 + 1
		}
	}
	if out.W == 0 {
		out.W = min(l.W, out.N)
		if p.N != 0 && p.N != l.N {
			out.W = out.N/2 + 1
		}
	}
	if out.MaxSiblings == 0 {
		out.MaxSiblings = l.MaxSiblings
	}
	if out.MaxValueBytes == 0 {
		out.MaxValueBytes = l.MaxValueBytes
	}
	if out.Conflict == "" {
		out.Conflict = Siblings
	}
	return out
}

// Validate checks p (registry form: zero fields allowed) against l. It
// refuses an R or W above the N it resolves to.
func (p Props) Validate(l Limits) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrBadProps}, args...)...)
	}
	switch {
	case p.N < 0 || p.N > MaxN:
		return bad("n = %d, want 1..%d", p.N, MaxN)
	case p.R < 0 || p.W < 0:
		return bad("r and w are at least 1")
	case p.MaxSiblings < 0 || p.MaxSiblings > l.MaxSiblings:
		return bad("max_siblings = %d, want 1..%d (the node's cap)", p.MaxSiblings, l.MaxSiblings)
	case p.MaxValueBytes < 0 || p.MaxValueBytes > l.MaxValueBytes:
		return bad("max_value_bytes = %d, want 1..%d (the node's cap)", p.MaxValueBytes, l.MaxValueBytes)
	case p.DefaultTTL < 0 || time.Duration(p.DefaultTTL) > MaxTTL:
		return bad("default_ttl = %s, want 0 (none) up to %s", time.Duration(p.DefaultTTL), MaxTTL)
	case p.DefaultTTL > 0 && time.Duration(p.DefaultTTL) < time.Millisecond:
		return bad("default_ttl = %s is under a millisecond", time.Duration(p.DefaultTTL))
	case p.Conflict != "" && p.Conflict != Siblings && p.Conflict != LWW:
		return bad("conflict = %q, want %q or %q", p.Conflict, Siblings, LWW)
	}
	r := p.Resolve(l)
	if r.R > r.N || r.W > r.N {
		return bad("r = %d and w = %d must not exceed n = %d", r.R, r.W, r.N)
	}
	return nil
}
