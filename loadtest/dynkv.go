package loadtest

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/dynkv/dynkv/client"
	"github.com/valyala/fasthttp"
)

// The dynkv driver speaks the client HTTP API (docs/API.md) with fasthttp
// directly: one request and response object per client, reused, so a read
// or write allocates only when the answer has siblings or is an error.
// (When the Go SDK in package client settles, a driver on it belongs next
// to this one; this one stays as the lowest-overhead path.)

// headerContext carries dynkv's causal context (node.HeaderContext).
const headerContext = "X-Causal-Context"

// DynkvOptions configure the dynkv driver.
type DynkvOptions struct {
	// Endpoints are node HTTP addresses: host:port, http://host:port or
	// https://host:port.
	// Worker i starts on endpoint i mod len(Endpoints) and moves to the
	// next one when its node does not answer.
	Endpoints []string
	// R and W are per-request quorums sent as ?r= and ?w=: 1..N, one,
	// quorum or all; empty leaves the node's default.
	R, W string
	// Timeout bounds each request; 0 means 10 s.
	Timeout time.Duration
	// TLS, when set, is the configuration for nodes serving https
	// (client.LoadTLSConfig builds one); bare host:port endpoints then
	// mean https, and http:// ones are refused.
	TLS *tls.Config
	// Token, when set, is sent as "Authorization: Bearer <token>".
	Token string
}

// Dynkv is the dynkv driver.
type Dynkv struct {
	opts  DynkvOptions
	hosts []*fasthttp.HostClient
	auth  string // the Authorization header, "" without a token
}

var _ Driver = (*Dynkv)(nil)

// NewDynkv checks opts and prepares connection pools; it does not dial.
func NewDynkv(opts DynkvOptions) (*Dynkv, error) {
	if len(opts.Endpoints) == 0 {
		return nil, errors.New("dynkv driver: no endpoints")
	}
	for _, q := range []struct{ name, v string }{{"r", opts.R}, {"w", opts.W}} {
		if !validQuorum(q.v) {
			return nil, fmt.Errorf("dynkv driver: %s=%q: want 1..N, one, quorum or all", q.name, q.v)
		}
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	d := &Dynkv{opts: opts}
	if opts.Token != "" {
		if err := client.ValidateToken(opts.Token); err != nil {
			return nil, fmt.Errorf("dynkv driver: %w", err)
		}
		d.auth = "Bearer " + opts.Token
	}
	var tlsConfig *tls.Config
	if opts.TLS != nil {
		tlsConfig = opts.TLS.Clone()
	}
	for _, e := range opts.Endpoints {
		addr, isTLS, err := parseEndpoint(e, opts.TLS != nil)
		if err != nil {
			return nil, fmt.Errorf("dynkv driver: %w", err)
		}
		d.hosts = append(d.hosts, &fasthttp.HostClient{
			Addr:      addr,
			IsTLS:     isTLS,
			TLSConfig: tlsConfig,
			MaxConns:  1 << 16, // each client holds at most one connection
			// Count a dropped connection as the error it is: no silent
			// retries of reads or (idempotent, to HTTP) PUTs.
			MaxIdemponentCallAttempts: 1,
			ReadTimeout:               opts.Timeout,
			WriteTimeout:              opts.Timeout,
			MaxIdleConnDuration:       time.Minute,
			DisablePathNormalizing:    true, // keys are raw bytes
			NoDefaultUserAgentHeader:  true,
		})
	}
	return d, nil
}

// parseEndpoint reads host:port, http://host:port or https://host:port; a
// bare host:port speaks TLS when a TLS config is given, as the SDK's do.
func parseEndpoint(e string, withTLS bool) (addr string, isTLS bool, err error) {
	addr, isTLS = e, withTLS
	if rest, ok := strings.CutPrefix(e, "https://"); ok {
		addr, isTLS = rest, true
	} else if rest, ok := strings.CutPrefix(e, "http://"); ok {
		if withTLS {
			return "", false, fmt.Errorf("endpoint %q: plain http, but TLS is configured; give https://host:port or host:port", e)
		}
		addr, isTLS = rest, false
	}
	addr = strings.TrimSuffix(addr, "/")
	if addr == "" || strings.Contains(addr, "/") {
		return "", false, fmt.Errorf("endpoint %q: want host:port, http://host:port or https://host:port", e)
	}
	return addr, isTLS, nil
}

// baseURL is h's scheme://host:port.
func baseURL(h *fasthttp.HostClient) string {
	if h.IsTLS {
		return "https://" + h.Addr
	}
	return "http://" + h.Addr
}

func validQuorum(s string) bool {
	switch s {
	case "", "one", "quorum", "all":
		return true
	}
	n, err := strconv.Atoi(s)
	return err == nil && n >= 1
}

// Name is "dynkv".
func (d *Dynkv) Name() string { return "dynkv" }

// Check asks every endpoint's /healthz.
func (d *Dynkv) Check(ctx context.Context) error {
	var errs []error
	for _, h := range d.hosts {
		status, body, err := h.GetTimeout(nil, baseURL(h)+"/healthz", min(d.opts.Timeout, 5*time.Second))
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%s: %w", h.Addr, err))
		case status != http.StatusOK:
			errs = append(errs, fmt.Errorf("%s: /healthz answered %d %s", h.Addr, status, strings.TrimSpace(string(body))))
		}
	}
	return errors.Join(errs...)
}

// NewClient returns worker i's client.
func (d *Dynkv) NewClient(i int) (Client, error) {
	c := &dynkvClient{d: d, host: i % len(d.hosts), req: fasthttp.AcquireRequest(), resp: fasthttp.AcquireResponse()}
	c.setHost()
	return c, nil
}

// Close releases idle connections.
func (d *Dynkv) Close() error {
	for _, h := range d.hosts {
		h.CloseIdleConnections()
	}
	return nil
}

type dynkvClient struct {
	d        *Dynkv
	host     int
	base     []byte // scheme://host:port/kv/
	url      []byte
	req      *fasthttp.Request
	resp     *fasthttp.Response
	siblings siblingsJSON
}

func (c *dynkvClient) setHost() {
	c.base = append(append(c.base[:0], baseURL(c.d.hosts[c.host])...), "/kv/"...)
}

// do sends the prepared request to the client's node; when the node does
// not answer, the next request goes to the next endpoint.
func (c *dynkvClient) do(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := c.d.hosts[c.host].DoTimeout(c.req, c.resp, c.d.opts.Timeout)
	if err == nil {
		return nil
	}
	if errors.Is(err, fasthttp.ErrTimeout) {
		return &OpError{Kind: KindClientTimeout, Err: err}
	}
	if len(c.d.hosts) > 1 {
		c.host = (c.host + 1) % len(c.d.hosts)
		c.setHost()
	}
	return &OpError{Kind: KindConnection, Err: err}
}

// reset starts the next request: method and token.
func (c *dynkvClient) reset(method string) {
	c.req.Reset()
	c.req.Header.SetMethod(method)
	if c.d.auth != "" {
		c.req.Header.Set("Authorization", c.d.auth) // copied into the request's buffer: no allocation once warm
	}
}

// setURL builds base + escaped key + quorum into the request.
func (c *dynkvClient) setURL(key []byte, qname, q string) {
	c.url = appendEscapedKey(append(c.url[:0], c.base...), key)
	if q != "" {
		c.url = append(append(append(append(c.url, '?'), qname...), '='), q...)
	}
	c.req.SetRequestURIBytes(c.url)
}

// Read is GET /kv/{key}.
func (c *dynkvClient) Read(ctx context.Context, key []byte, res *ReadResult) error {
	c.reset(fasthttp.MethodGet)
	c.setURL(key, "r", c.d.opts.R)
	res.Found, res.Values, res.Token = false, res.Values[:0], res.Token[:0]
	if err := c.do(ctx); err != nil {
		return err
	}
	res.Token = append(res.Token, c.resp.Header.Peek(headerContext)...)
	switch status := c.resp.StatusCode(); status {
	case http.StatusOK:
		res.Found = true
		res.Values = append(res.Values, c.resp.Body())
	case http.StatusMultipleChoices:
		c.siblings.Siblings = c.siblings.Siblings[:0]
		if err := json.Unmarshal(c.resp.Body(), &c.siblings); err != nil {
			return &OpError{Kind: KindProtocol, Err: fmt.Errorf("300 body: %w", err)}
		}
		res.Found = true
		for _, s := range c.siblings.Siblings {
			res.Values = append(res.Values, s.Value)
		}
	case http.StatusNotFound:
		if e := apiError(c.resp); e.Kind != "not_found" {
			return e // a 404 that is not about the key: a wrong endpoint
		}
	default:
		return apiError(c.resp)
	}
	return nil
}

type siblingsJSON struct {
	Siblings []struct {
		Value []byte `json:"value"` // base64 in JSON
	} `json:"siblings"`
}

// Write is PUT /kv/{key} with the token as X-Causal-Context.
func (c *dynkvClient) Write(ctx context.Context, key, value, token []byte, res *WriteResult) error {
	c.reset(fasthttp.MethodPut)
	c.setURL(key, "w", c.d.opts.W)
	// The string forms copy into the request's own buffers, as the []byte
	// ones do: neither allocates once the request is warm.
	c.req.Header.SetContentType("application/octet-stream")
	if len(token) > 0 {
		c.req.Header.SetBytesV(headerContext, token)
	}
	c.req.SetBodyRaw(value)
	res.Token = res.Token[:0]
	err := c.do(ctx)
	c.req.SetBodyRaw(nil) // value is the caller's
	if err != nil {
		return err
	}
	if c.resp.StatusCode() != http.StatusNoContent {
		return apiError(c.resp)
	}
	res.Token = append(res.Token, c.resp.Header.Peek(headerContext)...)
	return nil
}

func (c *dynkvClient) Close() error {
	fasthttp.ReleaseRequest(c.req)
	fasthttp.ReleaseResponse(c.resp)
	c.req, c.resp = nil, nil
	return nil
}

// apiError turns an error response into an OpError whose kind is dynkv's
// error code.
func apiError(resp *fasthttp.Response) *OpError {
	var body struct {
		Error string `json:"error"`
		Code  string `json:"code"`
	}
	status := resp.StatusCode()
	if json.Unmarshal(resp.Body(), &body) != nil || body.Code == "" {
		return &OpError{Kind: "http_" + strconv.Itoa(status), Err: fmt.Errorf("status %d: %.200q", status, resp.Body())}
	}
	return &OpError{Kind: body.Code, Err: fmt.Errorf("status %d: %s", status, body.Error)}
}

// appendEscapedKey percent-encodes key for the path: every byte but the
// unreserved ones (RFC 3986) is escaped, so no key can change the route.
func appendEscapedKey(dst, key []byte) []byte {
	const hex = "0123456789ABCDEF"
	for _, b := range key {
		if 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '-' || b == '.' || b == '_' || b == '~' {
			dst = append(dst, b)
		} else {
			dst = append(dst, '%', hex[b>>4], hex[b&15])
		}
	}
	return dst
}

// Causal is true: dynkv versions values with causal contexts.
func (d *Dynkv) Causal() bool { return true }
