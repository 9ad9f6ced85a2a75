package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// MaxKeyLen is the longest key dynkv accepts, in bytes.
const MaxKeyLen = 1024

// maxContextLen bounds a causal context token (the server's limit).
const maxContextLen = 64 << 10

// CausalContext is the opaque causal context of a read or write: a token
// the server issued. Send the one from your last read with a write or
// delete. The zero value is the empty context, which makes a write
// concurrent with everything stored. Contexts are comparable with ==.
type CausalContext struct{ token string }

// String returns the token, as carried in the X-Causal-Context header and
// accepted by ParseCausalContext; "" for the empty context.
func (c CausalContext) String() string { return c.token }

// IsZero reports whether c is the empty context.
func (c CausalContext) IsZero() bool { return c.token == "" }

// MarshalText encodes the context as its token.
func (c CausalContext) MarshalText() ([]byte, error) { return []byte(c.token), nil }

// UnmarshalText decodes a token as ParseCausalContext does.
func (c *CausalContext) UnmarshalText(b []byte) error {
	v, err := ParseCausalContext(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// ParseCausalContext turns a token (from CausalContext.String, or the
// X-Causal-Context header of any dynkv answer) back into a context. It
// checks only the token's alphabet and size: its content is the server's to
// judge (a token it did not issue fails with ErrBadRequest, code
// bad_context). Surrounding space is ignored; "" is the empty context.
func ParseCausalContext(s string) (CausalContext, error) {
	s = strings.TrimSpace(s)
	if len(s) > maxContextLen {
		return CausalContext{}, fmt.Errorf("%w: causal context of %d bytes exceeds %d", ErrBadRequest, len(s), maxContextLen)
	}
	for i := 0; i < len(s); i++ {
		switch b := s[i]; {
		case 'A' <= b && b <= 'Z', 'a' <= b && b <= 'z', '0' <= b && b <= '9', b == '-', b == '_', b == '=':
		default:
			return CausalContext{}, fmt.Errorf("%w: causal context has %q at byte %d; want a token as dynkv returned it", ErrBadRequest, b, i)
		}
	}
	return CausalContext{token: s}, nil
}

// Quorum is a per-request read or write quorum: a replica count 1..N, or
// Majority or All. The zero value leaves the node's default (--r, --w).
type Quorum int

const (
	// One replica.
	One Quorum = 1
	// Majority of the N replicas: N/2+1.
	Majority Quorum = -1
	// All N replicas.
	All Quorum = -2
)

// String renders the quorum as the API's ?r= and ?w= take it.
func (q Quorum) String() string {
	switch {
	case q == Majority:
		return "quorum"
	case q == All:
		return "all"
	case q == 0:
		return "default"
	}
	return strconv.Itoa(int(q))
}

// ParseQuorum reads a quorum as the API and the CLI spell it: a count,
// "one", "quorum" or "all".
func ParseQuorum(s string) (Quorum, error) {
	switch s {
	case "one":
		return One, nil
	case "quorum":
		return Majority, nil
	case "all":
		return All, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%w: quorum %q: want a count 1..N, one, quorum or all", ErrBadRequest, s)
	}
	return Quorum(n), nil
}

func (q Quorum) valid() bool { return q >= All }

// RequestOption adjusts one call.
type RequestOption func(*callOptions)

type callOptions struct {
	r, w            Quorum
	contentType     string
	keepContentType bool // Put only
	ttl             time.Duration
	servedBy        *string
	rounds          int // Update only
}

func collect(opts []RequestOption) callOptions {
	var o callOptions
	for _, f := range opts {
		f(&o)
	}
	return o
}

// R sets the read quorum of a Get (or of Update's reads).
func R(q Quorum) RequestOption { return func(o *callOptions) { o.r = q } }

// W sets the write quorum of a Put or Delete (or of Update's writes).
func W(q Quorum) RequestOption { return func(o *callOptions) { o.w = q } }

// ContentType sets the content type stored with a Put's value. Without it
// (and without KeepContentType) a Put stores application/octet-stream,
// whatever type the value it replaces had; Update keeps the type of the
// value it read.
func ContentType(ct string) RequestOption { return func(o *callOptions) { o.contentType = ct } }

// TTL makes a Put's value expire d after it is written: from then on it
// reads as absent everywhere (docs/GUARANTEES.md, "Expiry"). d is rounded
// down to whole milliseconds; a value written without one never expires.
// A write with a context that saw the value replaces it, TTL and all.
func TTL(d time.Duration) RequestOption { return func(o *callOptions) { o.ttl = d } }

// KeepContentType makes a Put without ContentType store the content type
// already stored under the key (that of the first sibling a read returns),
// or application/octet-stream when nothing is. It costs a read before the
// write; ContentType, when also given, wins.
func KeepContentType() RequestOption { return func(o *callOptions) { o.keepContentType = true } }

// ServedBy records in *node the node that coordinated the call (its
// X-Dynkv-Node header) — for Update, the one that took the last write.
func ServedBy(node *string) RequestOption { return func(o *callOptions) { o.servedBy = node } }

// Sibling is one value of a key. Values written concurrently are returned
// side by side until a write whose context saw them all replaces them.
type Sibling struct {
	Value       []byte `json:"value"` // base64 in JSON, as in the API
	ContentType string `json:"content_type"`
	// Modified is the coordinating replica's clock at the write:
	// informative only, it orders nothing.
	Modified time.Time `json:"modified"`
	// Expires is when a value written with a TTL stops being readable;
	// zero for one that never expires.
	Expires time.Time `json:"expires"`
}

// Result is what a Get found.
type Result struct {
	// Siblings are the key's live values: one normally, several after
	// concurrent writes, none when the key is absent or deleted.
	Siblings []Sibling
	// Context covers every sibling returned (or the tombstone of a deleted
	// key); write back with it to replace them.
	Context CausalContext
	// Node coordinated the read.
	Node string
}

// Values returns the siblings' values.
func (r Result) Values() [][]byte {
	out := make([][]byte, len(r.Siblings))
	for i, s := range r.Siblings {
		out[i] = s.Value
	}
	return out
}

// HasSiblings reports whether the read returned more than one value.
func (r Result) HasSiblings() bool { return len(r.Siblings) > 1 }

func quorumQuery(name string, q Quorum) (string, error) {
	if q == 0 {
		return "", nil
	}
	if !q.valid() {
		return "", fmt.Errorf("%w: quorum %d", ErrBadRequest, int(q))
	}
	return name + "=" + q.String(), nil
}

// readBody is the JSON read form.
type readBody struct {
	Siblings []Sibling `json:"siblings"`
	Context  string    `json:"context"`
}

// Get reads key with the read quorum (R option, else the node's default)
// and returns every sibling and the context covering them. An absent or
// deleted key is ErrNotFound; for a deleted key the Result still carries
// the tombstone's context, which a later Put should send.
func (c *Client) Get(ctx context.Context, key string, opts ...RequestOption) (Result, error) {
	return c.def.Get(ctx, key, opts...)
}

// Get is Client.Get in bucket b.
func (b *Bucket) Get(ctx context.Context, key string, opts ...RequestOption) (Result, error) {
	o := collect(opts)
	path, err := b.kvPath(key)
	if err != nil {
		return Result{}, b.opError("get", key, err)
	}
	q, err := quorumQuery("r", o.r)
	if err != nil {
		return Result{}, b.opError("get", key, err)
	}
	resp, err := b.c.do(ctx, &request{method: http.MethodGet, path: path, query: q, accept: "application/json"})
	defer resp.release()
	if resp != nil {
		setServedBy(o, resp.node)
	}
	if err != nil {
		if resp != nil && resp.status == http.StatusNotFound {
			res := Result{Node: resp.node}
			res.Context, _ = ParseCausalContext(resp.header.Get(headerContext))
			return res, b.opError("get", key, err)
		}
		return Result{}, b.opError("get", key, err)
	}
	var body readBody
	if err := json.Unmarshal(resp.body.Bytes(), &body); err != nil {
		return Result{}, b.opError("get", key, fmt.Errorf("decode answer from %s: %w", resp.endpoint, err))
	}
	token := resp.header.Get(headerContext)
	if token == "" {
		token = body.Context
	}
	res := Result{Siblings: body.Siblings, Node: resp.node}
	if res.Context, err = ParseCausalContext(token); err != nil {
		return Result{}, b.opError("get", key, fmt.Errorf("answer from %s: %w", resp.endpoint, err))
	}
	return res, nil
}

// Put writes value under key with the context of your last read (the zero
// context makes it concurrent with everything stored) and the write quorum
// (W option, else the node's default). It returns the new version's
// context: yours plus this write. See the package documentation for when a
// failed Put is retried.
func (c *Client) Put(ctx context.Context, key string, value []byte, cc CausalContext, opts ...RequestOption) (CausalContext, error) {
	return c.def.Put(ctx, key, value, cc, opts...)
}

// Put is Client.Put in bucket b.
func (b *Bucket) Put(ctx context.Context, key string, value []byte, cc CausalContext, opts ...RequestOption) (CausalContext, error) {
	o := collect(opts)
	if value == nil {
		value = []byte{}
	}
	if o.keepContentType && o.contentType == "" {
		res, err := b.Get(ctx, key)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return CausalContext{}, b.opError("put", key, fmt.Errorf("read the stored content type: %w", errors.Unwrap(err)))
		}
		if len(res.Siblings) > 0 {
			o.contentType = res.Siblings[0].ContentType
		}
	}
	resp, err := b.write(ctx, http.MethodPut, key, value, cc, o)
	defer resp.release()
	if err != nil {
		return CausalContext{}, b.opError("put", key, err)
	}
	next, err := ParseCausalContext(resp.header.Get(headerContext))
	if err != nil {
		return CausalContext{}, b.opError("put", key, fmt.Errorf("answer from %s: %w", resp.endpoint, err))
	}
	return next, nil
}

// Delete removes exactly the versions cc saw (it writes a tombstone); a
// write concurrent with it survives as a sibling. Deleting with the zero
// context removes nothing.
func (c *Client) Delete(ctx context.Context, key string, cc CausalContext, opts ...RequestOption) error {
	return c.def.Delete(ctx, key, cc, opts...)
}

// Delete is Client.Delete in bucket b.
func (b *Bucket) Delete(ctx context.Context, key string, cc CausalContext, opts ...RequestOption) error {
	resp, err := b.write(ctx, http.MethodDelete, key, nil, cc, collect(opts))
	defer resp.release()
	if err != nil {
		return b.opError("delete", key, err)
	}
	return nil
}

func (b *Bucket) write(ctx context.Context, method, key string, value []byte, cc CausalContext, o callOptions) (*response, error) {
	path, err := b.kvPath(key)
	if err != nil {
		return nil, err
	}
	q, err := quorumQuery("w", o.w)
	if err != nil {
		return nil, err
	}
	if o.ttl != 0 && method == http.MethodPut {
		if o.ttl < time.Millisecond {
			return nil, fmt.Errorf("%w: TTL %v: want at least 1ms", ErrBadRequest, o.ttl)
		}
		if q != "" {
			q += "&"
		}
		q += "ttl=" + strconv.FormatInt(o.ttl.Milliseconds(), 10) + "ms"
	}
	r := &request{method: method, path: path, query: q, body: value, cctx: cc.token, write: true}
	if method == http.MethodPut {
		r.contentType = o.contentType
	}
	resp, err := b.c.do(ctx, r)
	if resp != nil {
		setServedBy(o, resp.node)
	}
	return resp, err
}

func setServedBy(o callOptions, node string) {
	if o.servedBy != nil {
		*o.servedBy = node
	}
}
