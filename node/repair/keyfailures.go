package repair

import (
	"context"
	"errors"
	"fmt"

	"github.com/dynkv/dynkv/node/internal/wire"
)

// One key that cannot be repaired (a record the peer cannot decode, a
// refusal) must not stop the repair of the rest of its partition, or every
// later difference in that partition would wait for an operator. An
// exchange therefore repairs every key it can, counts the keys it could
// not, and reports them once: one WARN line per exchange, whatever the
// number of keys.
//
// Failures that are not the key's own (the peer stopped answering or is
// shutting down, the pass was cancelled) still end the exchange: every
// later key would fail the same way, after waiting.

// keyFailures are the keys one exchange could not repair.
type keyFailures struct {
	n        int
	firstKey []byte
	firstErr error
}

// failed records key's error, or returns it when it ends the exchange.
func (f *keyFailures) failed(ctx context.Context, key []byte, err error) error {
	var re *wire.RemoteError
	if ctx.Err() != nil || errors.Is(err, wire.ErrUnreachable) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) ||
		(errors.As(err, &re) && re.Code == wire.CodeShuttingDown) {
		return err
	}
	if f.n == 0 {
		f.firstKey, f.firstErr = key, err
	}
	f.n++
	return nil
}

// err is the exchange's error for its key failures, nil without any.
func (f *keyFailures) err() error {
	if f.n == 0 {
		return nil
	}
	return fmt.Errorf("%d keys not repaired, the first %q: %w", f.n, f.firstKey, f.firstErr)
}

// report logs the exchange's key failures, once.
func (x *exchange) reportKeyFailures() {
	f := x.failures
	if f.n == 0 {
		return
	}
	x.rp.log.Warn("anti-entropy could not repair some keys; it repaired the rest of the partition and retries them next pass",
		"partition", x.p, "n", x.n, "peer", x.peer.ID, "key_failures", f.n,
		"first_key", fmt.Sprintf("%q", f.firstKey), "first_err", f.firstErr)
}
