package coordinator

import (
	"errors"
	"fmt"
	"strconv"
)

// ErrBadQuorum is wrapped by the errors of a quorum outside 1..N of the
// key's bucket: the request is the client's mistake, refused before any
// replica is asked.
var ErrBadQuorum = errors.New("bad quorum")

// ErrValueTooLarge is wrapped by Put's error for a value over the bucket's
// max_value_bytes: refused before any replica stores anything (package doc).
var ErrValueTooLarge = errors.New("value too large")

// ParseQuorum reads a quorum parameter (?r= or ?w=) for a bucket of n
// replicas: a number in 1..n, or one (1), quorum (n/2+1) or all (n).
func ParseQuorum(s string, n int) (int, error) {
	switch s {
	case "one":
		return 1, nil
	case "quorum":
		return n/2 + 1, nil
	case "all":
		return n, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 1 || v > n {
		return 0, fmt.Errorf("%w: %q: want 1..%d, one, quorum or all (the bucket has n=%d)", ErrBadQuorum, s, n, n)
	}
	return v, nil
}

// quorumFor is q, or def when q is 0, refused when it exceeds n: W=all
// means the N of the key's bucket, never the cluster's.
func quorumFor(op string, q, def, n int) (int, error) {
	if q == 0 {
		q = def
	}
	if q < 1 || q > n {
		return 0, fmt.Errorf("%w: %s quorum %d: want 1..%d (the bucket has n=%d)", ErrBadQuorum, op, q, n, n)
	}
	return q, nil
}
