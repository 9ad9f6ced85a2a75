package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/dynkv/dynkv/client"
)

// cartsBucket holds the carts, keyed by cart ID. Its default TTL makes an
// abandoned cart go away by itself: the shop's writes give no TTL, so each
// carries the bucket's and keeps the cart alive that long again
// (docs/GUARANTEES.md, "Expiry").
const cartsBucket = "carts"

// defaultCartTTL is --cart-ttl's default.
const defaultCartTTL = 7 * 24 * time.Hour

// cartExpiry is what the shop knows of the carts bucket's default TTL.
type cartExpiry struct {
	ttl   time.Duration // 0: carts never expire
	known bool          // false when the props could not be read
}

// prepareCarts gives the carts bucket the default TTL want, and returns
// the one it has. Setting props needs an admin token: without one (or on
// any other failure) it logs why and goes on with the bucket's props as
// they are, since the shop works either way.
func prepareCarts(ctx context.Context, kv *client.Client, want time.Duration, log *slog.Logger) cartExpiry {
	info, err := kv.BucketProps(ctx, cartsBucket)
	if err != nil {
		log.Warn("cannot read the carts bucket's props; the page will not say when carts expire", "bucket", cartsBucket, "err", err)
		return cartExpiry{}
	}
	have := cartExpiry{ttl: info.Props.DefaultTTL, known: true}
	if have.ttl == want {
		log.Info("carts bucket ready", "bucket", cartsBucket, "default_ttl", want)
		return have
	}
	props := client.BucketProps{DefaultTTL: want}
	if info.Version != nil {
		// Someone set this bucket's props: change the TTL alone.
		props = info.Props
		props.DefaultTTL = want
	}
	set, err := kv.SetBucketProps(ctx, cartsBucket, props)
	if err != nil {
		why := "setting them failed"
		if errors.Is(err, client.ErrForbidden) || errors.Is(err, client.ErrUnauthenticated) {
			why = "setting bucket props needs an admin token (dynkv token create --role admin), and the shop's is not one"
		}
		log.Warn(fmt.Sprintf("cannot give the carts bucket a default TTL of %v: %s; going on with its props as they are", want, why),
			"bucket", cartsBucket, "default_ttl", have.ttl, "err", err)
		return have
	}
	log.Info("carts bucket ready", "bucket", cartsBucket, "default_ttl", set.Props.DefaultTTL,
		"acknowledged_by", set.AcknowledgedBy, "members", set.Members)
	return cartExpiry{ttl: set.Props.DefaultTTL, known: true}
}

// text is the page's sentence about expiry; empty when unknown.
func (e cartExpiry) text() string {
	switch {
	case !e.known:
		return ""
	case e.ttl == 0:
		return "Carts do not expire."
	}
	return "Carts expire after " + humanDuration(e.ttl) + " of inactivity: every change starts the time again."
}

// humanDuration says d in the largest whole unit: "7 days", "2 hours",
// "1 minute", else Go's form.
func humanDuration(d time.Duration) string {
	for _, u := range []struct {
		size time.Duration
		name string
	}{{24 * time.Hour, "day"}, {time.Hour, "hour"}, {time.Minute, "minute"}} {
		if d%u.size == 0 {
			n := int64(d / u.size)
			if n == 1 {
				return "1 " + u.name
			}
			return fmt.Sprintf("%d %ss", n, u.name)
		}
	}
	return d.String()
}
