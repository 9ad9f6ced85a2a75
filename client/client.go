package client

import (
	"crypto/tls"
	"errors"
	"fmt"
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

	def *Bucket // DefaultBucket, which the Client's key methods use

	tls  *tls.Config // WithTLS's, nil without (security.go)
	auth []string    // the Authorization header's value, nil without WithToken; never printed

	// bufs holds the buffers responses are read into (see
	// response.release): this client's own, so that clients share no
	// state.
	bufs sync.Pool
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
// "http://10.0.0.1:8080" or "https://10.0.0.1:8080", or bare host:port
// (http is assumed, https with WithTLS).
func New(endpoints []string, opts ...Option) (*Client, error) {
	if len(endpoints) == 0 {
		return nil, errors.New("client: no endpoints")
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
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, fmt.Errorf("client: %w", err)
		}
	}
	// Endpoints are parsed after the options: WithTLS decides what a bare
	// host:port means.
	if err := c.useTLS(); err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	seen := map[string]bool{}
	for _, raw := range endpoints {
		ep, err := c.parseEndpoint(raw)
		if err != nil {
			return nil, fmt.Errorf("client: %w", err)
		}
		if !seen[ep.url] {
			seen[ep.url] = true
			c.endpoints = append(c.endpoints, ep)
		}
	}
	c.bufs.New = newBuffer
	c.def = newBucket(c, DefaultBucket)
	if c.maxAttempts == 0 { // not set by WithMaxAttempts
		c.maxAttempts = max(3, 2*len(c.endpoints))
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

// parseEndpoint reads one endpoint. With WithTLS a bare host:port is
// https, and plain http is refused: the client was asked for TLS, and a
// token must not go out in the clear to one endpoint of several.
func (c *Client) parseEndpoint(raw string) (*endpoint, error) {
	s := strings.TrimSpace(raw)
	if !strings.Contains(s, "://") {
		if c.tls != nil {
			s = "https://" + s
		} else {
			s = "http://" + s
		}
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
	if c.tls != nil && u.Scheme == "http" {
		return nil, fmt.Errorf("endpoint %q: plain http, but TLS is configured (WithTLS); give https://host:port or host:port", raw)
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
