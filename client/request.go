package client

// The request path: one call's attempts over the endpoints, with failover
// and backoff between them, and the reading of each answer.

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
	"time"
)

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
	body     *bytes.Buffer // from pool: call release
	pool     *sync.Pool    // the client's Client.bufs
	node     string        // X-Dynkv-Node
	endpoint string
}

// newBuffer is Client.bufs's New.
func newBuffer() any { return new(bytes.Buffer) }

// release returns the body's buffer to the pool; r must not be used after.
func (r *response) release() {
	if r == nil || r.body == nil {
		return
	}
	if r.body.Cap() <= 1<<20 { // don't let one huge read pin memory
		r.body.Reset()
		r.pool.Put(r.body)
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
		if notSent(err) || refusedByTLS(err) {
			return notApplied
		}
		return transient
	}
	switch resp.status {
	case http.StatusServiceUnavailable:
		var e *APIError
		// Both are refused before anything was applied.
		if errors.As(err, &e) && (e.Code == CodeShuttingDown || e.Code == CodeOverloaded) {
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
		Header:     make(http.Header, 4),
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
	if c.auth != nil {
		req.Header["Authorization"] = c.auth // shared, never modified
	}
	hr, err := c.rt.RoundTrip(req)
	if err != nil {
		return nil, c.transportError(ctx, ep, err)
	}
	defer hr.Body.Close()
	buf := c.bufs.Get().(*bytes.Buffer)
	if hr.ContentLength > 0 && hr.ContentLength <= c.maxResponseBytes {
		buf.Grow(int(hr.ContentLength))
	}
	n, err := buf.ReadFrom(io.LimitReader(hr.Body, c.maxResponseBytes+1))
	resp := &response{status: hr.StatusCode, header: hr.Header, body: buf, pool: &c.bufs, node: hr.Header.Get(headerServedBy), endpoint: ep.url}
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
