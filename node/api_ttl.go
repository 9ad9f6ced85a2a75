package node

import (
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/dynkv/dynkv/node/internal/wire"
)

// HeaderTTL is the header form of ?ttl= on a PUT.
const HeaderTTL = "X-TTL"

// CodeBadTTL answers a TTL that is not a duration in range.
const CodeBadTTL = "bad_ttl"

// parseTTL reads a write's time to live from ?ttl= or the X-TTL header (the
// query wins, as with the quorum parameters): a Go duration such as 30m or
// 1h30m, or a whole number of seconds as Redis' EX and Cassandra's USING
// TTL take it. Absent (0) means the bucket's default_ttl, which the
// coordinator applies, and for a bucket without one (the default bucket's
// case) that the value never expires. A delete takes none: a tombstone's
// lifetime is the reaper's (docs/GUARANTEES.md, G6).
func parseTTL(rc *fasthttp.RequestCtx, isDelete bool) (time.Duration, *APIError) {
	raw := rc.QueryArgs().Peek("ttl")
	from := "ttl"
	if raw == nil {
		raw = rc.Request.Header.Peek(HeaderTTL)
		from = HeaderTTL
	}
	if raw == nil {
		return 0, nil
	}
	if isDelete {
		return 0, badRequest(CodeBadTTL, "%s: a delete takes no TTL", from)
	}
	s := strings.TrimSpace(string(raw))
	d, err := time.ParseDuration(s)
	if secs, serr := strconv.ParseInt(s, 10, 64); serr == nil {
		// Clamped before multiplying, which could overflow into range.
		d, err = time.Duration(max(-1, min(secs, int64(wire.MaxTTL/time.Second)+1)))*time.Second, nil
	}
	if err != nil {
		return 0, badRequest(CodeBadTTL, "%s %q: give a duration such as 30s, 15m or 2h, or whole seconds", from, s)
	}
	if d < time.Millisecond || d > wire.MaxTTL {
		return 0, badRequest(CodeBadTTL, "%s %q: a TTL is from 1ms to %s", from, s, wire.MaxTTL)
	}
	return d.Truncate(time.Millisecond), nil
}
