package node

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"github.com/dynkv/dynkv/vclock"
)

// Admission: what the HTTP server lets in before any handler runs. The
// server streams request bodies (fasthttp's StreamRequestBody), so a body
// is read here, and only once it is known to fit: under MaxValueBytes plus
// a margin, and under the node-wide cap on bytes in flight (which the
// internode listener shares, internode.go). A
// buffered server reads a body whole, up to the largest limit of any
// route, before any check can run: 40 clients sending 60 MiB each cost
// 2.4 GiB for answers of 413. docs/DESIGN.md, "Memory bounds".

// clientBodyMargin is what a client body may exceed MaxValueBytes by and
// still be read: such a value is then refused by the PUT handler with its
// exact size, on a connection that stays usable.
const clientBodyMargin = 64 << 10

// headerRoom is the request-header space beside the causal context: the
// request line with a key of 1 KiB percent-encoded (3 KiB), Host, types,
// user agents, proxies' additions.
const headerRoom = 16 << 10

// readBufferSize is the server's read buffer, which bounds a request's
// headers: room for the largest context token accepted, and the rest.
// fasthttp's default, 4 KiB, refused the contexts of keys written by some
// 300 actors, far below the token limit.
const readBufferSize = vclock.MaxTokenLen + headerRoom

// MinInflightBytes is the smallest MaxInflightBytes c allows: one
// internode message of the largest size (kept for peers) and one client
// body, so that either kind always fits when nothing else is in flight.
func (c Config) MinInflightBytes() int {
	return c.MaxInternodeBytes + c.MaxValueBytes + clientBodyMargin
}

// Reasons a request is refused before its handler, as counted.
const (
	refusedOverloaded = iota
	refusedTooLarge
	refusedFraming
	refusedHeaders
	refusedReasons
)

func refusedReason(i int) string {
	return [...]string{"overloaded", "body_too_large", "ambiguous_framing", "headers_too_large"}[i]
}

// admission bounds the bodies a node holds and checks request framing.
type admission struct {
	next fasthttp.RequestHandler
	// limit caps the bytes of bodies in flight; client requests may use
	// all but reserve of it, so that peers' replication of writes other
	// nodes accepted still gets in while clients saturate this one.
	limit, reserve int64
	clientMax      int

	inflight atomic.Int64
	refused  [refusedReasons]atomic.Uint64
}

func newAdmission(cfg Config, next fasthttp.RequestHandler) *admission {
	return &admission{
		next:      next,
		limit:     int64(cfg.MaxInflightBytes),
		reserve:   int64(cfg.MaxInternodeBytes),
		clientMax: cfg.MaxValueBytes + clientBodyMargin,
	}
}

// serve admits one request: checks its framing, reserves its body's bytes,
// reads the body and hands the request on.
func (a *admission) serve(rc *fasthttp.RequestCtx) {
	length := rc.Request.Header.ContentLength() // -1: chunked
	if length == 0 || length < -1 {             // no body; -2 (identity) is not framing
		a.next(rc)
		return
	}
	if ambiguousFraming(rc.Request.Header.RawHeaders()) {
		a.refused[refusedFraming].Add(1)
		refuse(rc, badRequest(CodeBadRequest, "request has both Content-Length and Transfer-Encoding: its length is ambiguous"))
		return
	}
	maxBody := a.clientMax
	if length > maxBody {
		a.refuseTooLarge(rc, fmt.Sprintf("body of %d bytes exceeds the limit of %d", length, maxBody))
		return
	}
	reserved := int64(length)
	if length < 0 {
		reserved = int64(maxBody) // chunked: the most it may turn out to be
	}
	if !a.acquire(reserved, false) {
		a.refuseOverloaded(rc)
		return
	}
	defer func() { a.inflight.Add(-reserved) }()
	body, err := readBody(rc.RequestBodyStream(), length, maxBody)
	if err != nil {
		a.refuseUnread(rc, err, maxBody)
		return
	}
	// A chunked body gives back what it did not use.
	a.inflight.Add(int64(len(body)) - reserved)
	reserved = int64(len(body))
	rc.Request.SetBodyRaw(body)
	rc.SetUserValue(ownedBodyKey{}, body)
	a.next(rc)
}

// ownedBodyKey marks a body admission read into memory of its own.
type ownedBodyKey struct{}

// ownedBody is the request body in memory that may outlive the handler:
// the slice admission read it into, which fasthttp never reuses, or else a
// copy. It saves a copy of every value written (a second MiB per PUT of a
// MiB in flight).
func ownedBody(rc *fasthttp.RequestCtx) []byte {
	if b, ok := rc.UserValue(ownedBodyKey{}).([]byte); ok {
		return b
	}
	return append([]byte{}, rc.PostBody()...)
}

// acquire reserves n bytes if they fit under the kind's ceiling.
func (a *admission) acquire(n int64, internode bool) bool {
	ceiling := a.limit
	if !internode {
		ceiling -= a.reserve
	}
	for {
		cur := a.inflight.Load()
		if cur+n > ceiling {
			return false
		}
		if a.inflight.CompareAndSwap(cur, cur+n) {
			return true
		}
	}
}

// errBodyTooLarge is a chunked body that ran past its limit.
var errBodyTooLarge = errors.New("body exceeds the limit")

// readBody reads a body of the given length, or a chunked one (length -1)
// of at most maxBody bytes. It does not use fasthttp's Body, which reads a
// stream without bound and returns a read error's text as the body.
func readBody(r io.Reader, length, maxBody int) ([]byte, error) {
	if length >= 0 {
		b := make([]byte, length)
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, fmt.Errorf("read body: %w", err)
		}
		return b, nil
	}
	b, err := io.ReadAll(io.LimitReader(r, int64(maxBody)+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("read chunked body: %w", err)
	case len(b) > maxBody:
		return nil, errBodyTooLarge
	}
	return b, nil
}

func (a *admission) refuseTooLarge(rc *fasthttp.RequestCtx, msg string) {
	a.refused[refusedTooLarge].Add(1)
	refuse(rc, &APIError{Status: http.StatusRequestEntityTooLarge, Code: CodeValueTooLarge, Message: msg})
}

// refuseOverloaded answers a request that does not fit under the cap; its
// body is not read, so the connection is closed.
func (a *admission) refuseOverloaded(rc *fasthttp.RequestCtx) {
	a.refused[refusedOverloaded].Add(1)
	refuse(rc, &APIError{Status: http.StatusServiceUnavailable, Code: CodeOverloaded, Message: msgOverloaded})
}

// msgOverloaded is the refusal of a request that does not fit under the
// cap on bytes in flight, for clients and peers alike.
const msgOverloaded = "node has too many request bytes in flight; retry later or on another node"

// refuseUnread answers a request whose body could not be read whole.
func (a *admission) refuseUnread(rc *fasthttp.RequestCtx, err error, maxBody int) {
	var ne net.Error
	switch {
	case errors.Is(err, errBodyTooLarge):
		a.refuseTooLarge(rc, fmt.Sprintf("chunked body exceeds the limit of %d bytes", maxBody))
	case errors.As(err, &ne) && ne.Timeout():
		refuse(rc, &APIError{Status: http.StatusRequestTimeout, Code: "request_timeout", Message: "request body not received in time"})
	default:
		refuse(rc, badRequest(CodeBadRequest, "cannot read the request body: %v", err))
	}
}

// refuse answers with e and closes the connection: the rest of the
// request, if any, is never read, let alone parsed as another request.
func refuse(rc *fasthttp.RequestCtx, e *APIError) {
	writeError(rc, e)
	lingerThenClose(rc)
}

// serverError answers a request the server could not read or parse, after
// which fasthttp closes the connection (gently: lingerThenClose).
func (a *admission) serverError(rc *fasthttp.RequestCtx, err error) {
	lingerThenClose(rc)
	var ne net.Error
	var small *fasthttp.ErrSmallBuffer
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		writeError(rc, &APIError{Status: http.StatusRequestTimeout, Code: "request_timeout", Message: "request not received in time"})
	case errors.As(err, &small):
		a.refused[refusedHeaders].Add(1)
		writeError(rc, &APIError{Status: http.StatusRequestHeaderFieldsTooLarge, Code: CodeHeadersTooLarge,
			Message: fmt.Sprintf("request headers exceed %d bytes", readBufferSize)})
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		a.refused[refusedTooLarge].Add(1)
		writeError(rc, &APIError{Status: http.StatusRequestEntityTooLarge, Code: CodeValueTooLarge, Message: "request body too large"})
	default:
		writeError(rc, badRequest(CodeBadRequest, "cannot parse request: %v", err))
	}
}

// ambiguousFraming reports whether raw request headers carry both
// Content-Length and Transfer-Encoding. fasthttp frames such a request by
// its Transfer-Encoding and forgets the Content-Length, so only the raw
// headers tell; a proxy in front that framed it by its Content-Length
// would see another request where this server sees a body (RFC 9112,
// 6.3: reject, or at least close the connection).
func ambiguousFraming(raw []byte) bool {
	var length, encoding bool
	for line := range bytes.SplitSeq(raw, []byte("\n")) {
		name, _, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		name = bytes.TrimSpace(name)
		length = length || bytes.EqualFold(name, []byte(fasthttp.HeaderContentLength))
		encoding = encoding || bytes.EqualFold(name, []byte(fasthttp.HeaderTransferEncoding))
	}
	return length && encoding
}

// admissionCollector exports the admission's state at scrape time.
type admissionCollector struct {
	n                 *Node
	inflight, refused *prometheus.Desc
}

func newAdmissionCollector(n *Node) admissionCollector {
	return admissionCollector{
		n: n,
		inflight: prometheus.NewDesc("dynkv_inflight_bytes",
			"Bytes of request bodies held now, client and internode (capped by --max-inflight-bytes).", nil, nil),
		refused: prometheus.NewDesc("dynkv_requests_refused_total",
			"Requests refused before any handler, by reason (overloaded, body_too_large, ambiguous_framing, headers_too_large).", []string{"reason"}, nil),
	}
}

func (c admissionCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.inflight
	ch <- c.refused
}

func (c admissionCollector) Collect(ch chan<- prometheus.Metric) {
	a := c.n.admit
	if a == nil { // not serving HTTP
		return
	}
	ch <- prometheus.MustNewConstMetric(c.inflight, prometheus.GaugeValue, float64(a.inflight.Load()))
	for i := range refusedReasons {
		ch <- prometheus.MustNewConstMetric(c.refused, prometheus.CounterValue, float64(a.refused[i].Load()), refusedReason(i))
	}
}
