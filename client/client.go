package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Header names of the HTTP API.
const (
	headerContext  = "X-Causal-Context"
	headerServedBy = "X-Dynkv-Node"
)

// Defaults of the options.
const (
	DefaultAttemptTimeout   = 10 * time.Second
	DefaultDialTimeout      = 2 * time.Second
	DefaultEndpointCooldown = 2 * time.Second
	DefaultBackoffBase      = 50 * time.Millisecond
	DefaultBackoffMax       = time.Second
	DefaultMaxIdlePerHost   = 1024
	DefaultMaxResponseBytes = 256 << 20
)

// Client talks to a dynkv cluster through a list of endpoints. It is safe
// for concurrent use.
type Client struct {
	endpoints []*endpoint
	// rt sends requests. It is a RoundTripper, not an http.Client: the
	// API never redirects (following one with a write's body would be
	// wrong), and skipping the Client's redirect and cookie machinery
	// saves a dozen allocations per request.
	rt    http.RoundTripper
	ownRT *http.Transport // our own pooled transport, nil with WithTransport

	roundRobin       bool
	preferred        atomic.Int32  // sticky mode: the endpoint that last answered
	next             atomic.Uint32 // round-robin mode: the next start
	maxAttempts      int
	attemptTimeout   time.Duration
	cooldown         time.Duration
	backoffBase      time.Duration
	backoffMax       time.Duration
	retryAmbiguous   bool
	maxResponseBytes int64
}

// endpoint is one node's base address and its recent health.
type endpoint struct {
	scheme, host string
	url          string       // scheme://host, for messages
	downUntil    atomic.Int64 // unix nanoseconds; skip it until then
	suspect      atomic.Bool  // failed: probe it before it carries a request (probe.go)
	probeMu      sync.Mutex   // held by the one call probing it
}

// Option configures a Client.
type Option func(*Client) error

// WithTransport sends requests through rt (for TLS settings, tracing or
// a test double) instead of the client's own pooled *http.Transport.
// Redirects are not followed: dynkv never sends one.
func WithTransport(rt http.RoundTripper) Option {
	return func(c *Client) error {
		if rt == nil {
			return errors.New("WithTransport: nil RoundTripper")
		}
		c.rt, c.ownRT = rt, nil
		return nil
	}
}

// WithRoundRobin spreads requests over the endpoints, each request starting
// at the next one, instead of sticking to the endpoint that last answered.
// It spreads coordination work for throughput; failover works the same.
func WithRoundRobin() Option {
	return func(c *Client) error { c.roundRobin = true; return nil }
}

// WithMaxAttempts bounds the attempts one call makes over all endpoints;
// default twice the number of endpoints, at least 3.
func WithMaxAttempts(n int) Option {
	return func(c *Client) error {
		if n < 1 {
			return fmt.Errorf("WithMaxAttempts(%d): want at least 1", n)
		}
		c.maxAttempts = n
		return nil
	}
}

// WithAttemptTimeout bounds one attempt on one endpoint, so that a node
// that accepts connections but does not answer is failed over from; default
// DefaultAttemptTimeout, 0 for none (only the caller's context). Keep it
// above the servers' --request-timeout (5 s by default), or slow quorums
// end as client-side timeouts instead of the server's 504 with detail.
func WithAttemptTimeout(d time.Duration) Option {
	return func(c *Client) error {
		if d < 0 {
			return fmt.Errorf("WithAttemptTimeout(%v): want 0 or more", d)
		}
		c.attemptTimeout = d
		return nil
	}
}

// WithEndpointCooldown sets how long an endpoint that refused a connection
// or is shutting down is passed over (unless every endpoint is); default
// DefaultEndpointCooldown.
func WithEndpointCooldown(d time.Duration) Option {
	return func(c *Client) error {
		if d < 0 {
			return fmt.Errorf("WithEndpointCooldown(%v): want 0 or more", d)
		}
		c.cooldown = d
		return nil
	}
}

// WithBackoff sets the pause between passes over the endpoints: a random
// duration up to base·2^pass, capped at max (full jitter).
func WithBackoff(base, max time.Duration) Option {
	return func(c *Client) error {
		if base <= 0 || max < base {
			return fmt.Errorf("WithBackoff(%v, %v): want 0 < base <= max", base, max)
		}
		c.backoffBase, c.backoffMax = base, max
		return nil
	}
}

// WithRetryAmbiguousWrites makes Put and Delete retry on the next endpoint
// after failures where the write may have been applied (see the package
// documentation): at worst the value is stored twice, as two siblings.
func WithRetryAmbiguousWrites() Option {
	return func(c *Client) error { c.retryAmbiguous = true; return nil }
}

// WithMaxIdleConnsPerEndpoint sizes the pool of idle keep-alive
// connections kept per endpoint; default DefaultMaxIdlePerHost. Set it to
// at least the number of concurrent callers to avoid reconnecting. It has
// no effect with WithTransport.
func WithMaxIdleConnsPerEndpoint(n int) Option {
	return func(c *Client) error {
		if n < 1 {
			return fmt.Errorf("WithMaxIdleConnsPerEndpoint(%d): want at least 1", n)
		}
		if c.ownRT != nil {
			c.ownRT.MaxIdleConnsPerHost = n
		}
		return nil
	}
}

// WithMaxResponseBytes bounds the body of one response the client reads;
// default DefaultMaxResponseBytes (room for 100 siblings of 1 MiB).
func WithMaxResponseBytes(n int64) Option {
	return func(c *Client) error {
		if n < 1 {
			return fmt.Errorf("WithMaxResponseBytes(%d): want at least 1", n)
		}
		c.maxResponseBytes = n
		return nil
	}
}

// New returns a client for the nodes at endpoints: URLs such as
// "http://10.0.0.1:8080", or bare host:port (http is assumed).
func New(endpoints []string, opts ...Option) (*Client, error) {
	if len(endpoints) == 0 {
		return nil, errors.New("dynkv client: no endpoints")
	}
	t := newTransport()
	c := &Client{
		rt:               t,
		ownRT:            t,
		attemptTimeout:   DefaultAttemptTimeout,
		cooldown:         DefaultEndpointCooldown,
		backoffBase:      DefaultBackoffBase,
		backoffMax:       DefaultBackoffMax,
		maxResponseBytes: DefaultMaxResponseBytes,
	}
	seen := map[string]bool{}
	for _, raw := range endpoints {
		ep, err := parseEndpoint(raw)
		if err != nil {
			return nil, fmt.Errorf("dynkv client: %w", err)
		}
		if !seen[ep.url] {
			seen[ep.url] = true
			c.endpoints = append(c.endpoints, ep)
		}
	}
	c.maxAttempts = max(3, 2*len(c.endpoints))
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, fmt.Errorf("dynkv client: %w", err)
		}
	}
	return c, nil
}

func newTransport() *http.Transport {
	d := &net.Dialer{Timeout: DefaultDialTimeout, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         dialChecked(d.DialContext), // see staleconn.go
		MaxIdleConnsPerHost: DefaultMaxIdlePerHost,
		// Below the server's 60 s idle timeout, so the client drops a
		// connection before the server does.
		IdleConnTimeout:       50 * time.Second,
		TLSHandshakeTimeout:   DefaultDialTimeout,
		ExpectContinueTimeout: time.Second,
		// Values are the caller's bytes; compressing them is the caller's
		// business.
		DisableCompression: true,
	}
}

func parseEndpoint(raw string) (*endpoint, error) {
	s := strings.TrimSpace(raw)
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("endpoint %q: %v", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("endpoint %q: scheme must be http or https", raw)
	}
	if u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return nil, fmt.Errorf("endpoint %q: want scheme://host:port with no path", raw)
	}
	return &endpoint{scheme: u.Scheme, host: u.Host, url: u.Scheme + "://" + u.Host}, nil
}

// Endpoints returns the client's endpoints as URLs, in order.
func (c *Client) Endpoints() []string {
	out := make([]string, len(c.endpoints))
	for i, ep := range c.endpoints {
		out[i] = ep.url
	}
	return out
}

// Close releases the client's idle connections. The client stays usable.
func (c *Client) Close() error {
	if c.ownRT != nil {
		c.ownRT.CloseIdleConnections()
	}
	return nil
}

// request is one API call, independent of the endpoint it is sent to.
type request struct {
	method      string
	path        string // escaped, e.g. /kv/user%2F42
	query       string // without '?'
	body        []byte
	contentType string
	cctx        string // X-Causal-Context
	accept      string
	write       bool // has side effects: retried only when provably not applied
}

// response is one HTTP answer, read whole.
type response struct {
	status   int
	header   http.Header
	body     *bytes.Buffer // pooled: call release
	node     string        // X-Dynkv-Node
	endpoint string
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// release returns the body's buffer to the pool; r must not be used after.
func (r *response) release() {
	if r == nil || r.body == nil {
		return
	}
	if r.body.Cap() <= 1<<20 { // don't let one huge read pin memory
		r.body.Reset()
		bufPool.Put(r.body)
	}
	r.body = nil
}

// verdict is what a failed attempt means for the next one.
type verdict int

const (
	final      verdict = iota // hand the result to the caller
	notApplied                // provably no effect: retry anything, skip the endpoint for a while
	transient                 // may have had an effect: retry reads only (or writes if configured)
)

// do sends r, failing over between endpoints and backing off between
// passes. A non-nil response is an answer from a node (err is then its
// *APIError, or nil for 1xx-3xx); the caller must release it.
func (c *Client) do(ctx context.Context, r *request) (*response, error) {
	var stack [16]int
	order := c.plan(stack[:0])
	var (
		answer    *response // the last node's answer, which says most
		answerErr error
		lastErr   error // the last attempt's error
	)
	defer func() { answer.release() }()
	for attempt := 0; attempt < c.maxAttempts; attempt++ {
		if attempt > 0 && attempt%len(order) == 0 {
			if err := c.backoff(ctx, attempt/len(order)-1); err != nil {
				return nil, contextError(ctx, lastErr)
			}
			order = c.plan(stack[:0])
		}
		i := order[attempt%len(order)]
		ep := c.endpoints[i]
		if err := c.ready(ctx, ep); err != nil {
			if ctx.Err() != nil {
				return nil, contextError(ctx, err) // nothing was sent
			}
			if !errors.Is(err, errProbing) {
				c.markFailed(ep)
			}
			lastErr = err
			continue
		}
		resp, err := c.attempt(ctx, ep, r)
		if resp == nil && err != nil && ctx.Err() != nil { // an answer that made it in time counts
			err = contextError(ctx, err)
			if r.write && !notSent(err) {
				err = fmt.Errorf("%w; the write may have been applied", err)
			}
			return nil, err
		}
		v := c.judge(resp, err)
		if v == notApplied || resp == nil && err != nil {
			c.markFailed(ep)
		} else if resp != nil && !c.roundRobin {
			c.preferred.Store(int32(i)) // this node answers: stay with it
		}
		if retry := v == notApplied || v == transient && (!r.write || c.retryAmbiguous); !retry {
			if resp == nil && v == transient {
				err = fmt.Errorf("%w; the write may have been applied", err)
			}
			return resp, err
		}
		lastErr = err
		if resp != nil {
			answer.release()
			answer, answerErr = resp, err
		}
	}
	if answer != nil {
		resp := answer
		answer = nil
		return resp, answerErr
	}
	return nil, fmt.Errorf("%w after %d attempts: %w", ErrUnavailable, c.maxAttempts, lastErr)
}

// judge classifies an attempt's outcome.
func (c *Client) judge(resp *response, err error) verdict {
	if resp == nil {
		if err == nil {
			return final
		}
		if notSent(err) {
			return notApplied
		}
		return transient
	}
	switch resp.status {
	case http.StatusServiceUnavailable:
		var e *APIError
		if errors.As(err, &e) && e.Code == CodeShuttingDown {
			return notApplied
		}
		return transient
	case http.StatusRequestTimeout:
		return notApplied // the node never had the whole request
	case http.StatusGatewayTimeout, http.StatusInternalServerError, http.StatusBadGateway:
		return transient
	}
	return final
}

// notSent reports whether a transport error proves the request never
// reached a node: the connection was never made.
func notSent(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
}

// contextError is the error of a call cut short by its context.
func contextError(ctx context.Context, last error) error {
	err := context.Cause(ctx)
	if last != nil {
		err = fmt.Errorf("%w (last attempt: %v)", err, last)
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &timeoutError{what: "deadline exceeded", err: err}
	}
	return err
}

// plan orders the endpoints for one call: from the sticky or round-robin
// start, healthy ones first, then those cooling down.
func (c *Client) plan(buf []int) []int {
	n := len(c.endpoints)
	var start int
	if c.roundRobin {
		start = int(c.next.Add(1)-1) % n
	} else {
		start = int(c.preferred.Load())
	}
	now := time.Now().UnixNano()
	for k := range n {
		if i := (start + k) % n; c.endpoints[i].downUntil.Load() <= now {
			buf = append(buf, i)
		}
	}
	for k := range n {
		if i := (start + k) % n; c.endpoints[i].downUntil.Load() > now {
			buf = append(buf, i)
		}
	}
	return buf
}

// backoff sleeps before pass+1 over the endpoints, or until ctx is done.
func (c *Client) backoff(ctx context.Context, pass int) error {
	ceiling := c.backoffMax
	if pass < 30 && c.backoffBase<<pass < ceiling {
		ceiling = c.backoffBase << pass
	}
	t := time.NewTimer(rand.N(ceiling) + 1)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// attempt sends r to ep once and reads the whole answer.
func (c *Client) attempt(ctx context.Context, ep *endpoint, r *request) (*response, error) {
	if c.attemptTimeout > 0 {
		if d, ok := ctx.Deadline(); !ok || time.Until(d) > c.attemptTimeout {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, c.attemptTimeout)
			defer cancel()
		}
	}
	req := (&http.Request{
		Method:     r.method,
		URL:        &url.URL{Scheme: ep.scheme, Host: ep.host, Opaque: r.path, RawQuery: r.query},
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     make(http.Header, 3),
		Host:       ep.host,
	}).WithContext(ctx)
	if r.body != nil || r.method == http.MethodPut {
		body := r.body
		req.ContentLength = int64(len(body))
		if len(body) == 0 {
			req.Body = http.NoBody
		} else {
			req.Body = io.NopCloser(bytes.NewReader(body))
			req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		}
	}
	if r.contentType != "" {
		req.Header["Content-Type"] = []string{r.contentType}
	}
	if r.cctx != "" {
		req.Header[headerContext] = []string{r.cctx}
	}
	if r.accept != "" {
		req.Header["Accept"] = []string{r.accept}
	}
	hr, err := c.rt.RoundTrip(req)
	if err != nil {
		return nil, c.transportError(ctx, ep, err)
	}
	defer hr.Body.Close()
	buf := bufPool.Get().(*bytes.Buffer)
	if hr.ContentLength > 0 && hr.ContentLength <= c.maxResponseBytes {
		buf.Grow(int(hr.ContentLength))
	}
	n, err := buf.ReadFrom(io.LimitReader(hr.Body, c.maxResponseBytes+1))
	resp := &response{status: hr.StatusCode, header: hr.Header, body: buf, node: hr.Header.Get(headerServedBy), endpoint: ep.url}
	switch {
	case err != nil:
		resp.release()
		return nil, c.transportError(ctx, ep, fmt.Errorf("read response: %w", err))
	case n > c.maxResponseBytes:
		resp.release()
		return nil, fmt.Errorf("%s: response larger than %d bytes (WithMaxResponseBytes)", ep.url, c.maxResponseBytes)
	}
	if hr.StatusCode >= 400 {
		return resp, resp.apiError()
	}
	return resp, nil
}

// transportError names the endpoint and marks attempt timeouts as such.
func (c *Client) transportError(ctx context.Context, ep *endpoint, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // the URL is ours; say it once, below
	}
	if ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &timeoutError{what: ep.url + ": no answer within the attempt timeout", err: err}
	}
	return fmt.Errorf("%s: %w", ep.url, err)
}

// errorBody is the JSON of an error answer.
type errorBody struct {
	Error    string `json:"error"`
	Code     string `json:"code"`
	Acks     int    `json:"acks"`
	Required int    `json:"required"`
	Context  string `json:"context"`
}

// apiError decodes an error answer; a body that is not dynkv's JSON (a
// proxy's page, say) still gives an error with the status.
func (r *response) apiError() *APIError {
	e := &APIError{Status: r.status, Node: r.node, Endpoint: r.endpoint}
	var b errorBody
	if json.Unmarshal(r.body.Bytes(), &b) == nil && b.Code != "" {
		e.Code, e.Message, e.Acks, e.Required = b.Code, b.Error, b.Acks, b.Required
		return e
	}
	e.Message = strings.TrimSpace(http.StatusText(r.status))
	if s := strings.TrimSpace(r.body.String()); s != "" && len(s) < 200 {
		e.Message += ": " + s
	}
	return e
}

// getJSON is a GET of a cluster view, decoded into out.
func (c *Client) getJSON(ctx context.Context, op, path, query string, out any) error {
	resp, err := c.do(ctx, &request{method: http.MethodGet, path: path, query: query, accept: "application/json"})
	defer resp.release()
	if err != nil {
		return opError(op, "", err)
	}
	if err := json.Unmarshal(resp.body.Bytes(), out); err != nil {
		return opError(op, "", fmt.Errorf("decode answer from %s: %w", resp.endpoint, err))
	}
	return nil
}
