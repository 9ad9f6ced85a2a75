package loadtest

import (
	"context"
	"errors"
	"fmt"

	"github.com/dynkv/dynkv/client"
)

// DynkvSDK drives dynkv through the Go SDK (package client): what an
// application built on the SDK sees, with its net/http transport, its
// round-robin over the endpoints and its failover. Reads the SDK retried
// on another node count as one operation with the retry in its latency;
// writes are not retried unless they provably did not happen. The Dynkv
// driver costs the client less CPU, which matters when the generator and
// the cluster share a machine.
type DynkvSDK struct {
	opts  DynkvOptions
	c     *client.Client
	check *Dynkv // /healthz of every endpoint
	ropts []client.RequestOption
	wopts []client.RequestOption
}

var _ Driver = (*DynkvSDK)(nil)

// NewDynkvSDK builds the SDK client for opts.Endpoints.
func NewDynkvSDK(opts DynkvOptions) (*DynkvSDK, error) {
	check, err := NewDynkv(opts)
	if err != nil {
		return nil, err
	}
	d := &DynkvSDK{opts: check.opts, check: check}
	for _, q := range []struct {
		v    string
		opts *[]client.RequestOption
		opt  func(client.Quorum) client.RequestOption
	}{{opts.R, &d.ropts, client.R}, {opts.W, &d.wopts, client.W}} {
		if q.v == "" {
			continue
		}
		quorum, err := client.ParseQuorum(q.v)
		if err != nil {
			return nil, fmt.Errorf("dynkv-sdk driver: %w", err)
		}
		*q.opts = append(*q.opts, q.opt(quorum))
	}
	copts := []client.Option{client.WithRoundRobin(), client.WithAttemptTimeout(d.opts.Timeout)}
	if opts.TLS != nil {
		copts = append(copts, client.WithTLS(opts.TLS))
	}
	if opts.Token != "" {
		copts = append(copts, client.WithToken(opts.Token))
	}
	d.c, err = client.New(opts.Endpoints, copts...)
	if err != nil {
		return nil, err
	}
	return d, nil
}

// Name is "dynkv-sdk".
func (d *DynkvSDK) Name() string { return "dynkv-sdk" }

// Check asks every endpoint's /healthz.
func (d *DynkvSDK) Check(ctx context.Context) error { return d.check.Check(ctx) }

// NewClient returns a view of the one shared SDK client.
func (d *DynkvSDK) NewClient(int) (Client, error) { return &sdkClient{d: d}, nil }

// Close releases idle connections.
func (d *DynkvSDK) Close() error {
	d.check.Close()
	return d.c.Close()
}

type sdkClient struct{ d *DynkvSDK }

func (c *sdkClient) Read(ctx context.Context, key []byte, res *ReadResult) error {
	res.Found, res.Values, res.Token = false, res.Values[:0], res.Token[:0]
	r, err := c.d.c.Get(ctx, string(key), c.d.ropts...)
	res.Token = append(res.Token, r.Context.String()...)
	if errors.Is(err, client.ErrNotFound) {
		return nil
	}
	if err != nil {
		return sdkError(err)
	}
	res.Found = len(r.Siblings) > 0
	for _, s := range r.Siblings {
		res.Values = append(res.Values, s.Value)
	}
	return nil
}

func (c *sdkClient) Write(ctx context.Context, key, value, token []byte, res *WriteResult) error {
	res.Token = res.Token[:0]
	cc, err := client.ParseCausalContext(string(token))
	if err != nil {
		return &OpError{Kind: KindProtocol, Err: err}
	}
	next, err := c.d.c.Put(ctx, string(key), value, cc, c.d.wopts...)
	if err != nil {
		return sdkError(err)
	}
	res.Token = append(res.Token, next.String()...)
	return nil
}

func (c *sdkClient) Close() error { return nil }

// sdkError gives an SDK error its kind: the server's code, or what the
// client ran into.
func sdkError(err error) error {
	var ae *client.APIError
	switch {
	case errors.As(err, &ae) && ae.Code != "":
		return &OpError{Kind: ae.Code, Err: err}
	case errors.As(err, &ae):
		return &OpError{Kind: fmt.Sprintf("http_%d", ae.Status), Err: err}
	case errors.Is(err, client.ErrUnavailable):
		return &OpError{Kind: KindConnection, Err: err}
	case errors.Is(err, client.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return &OpError{Kind: KindClientTimeout, Err: err}
	case errors.Is(err, client.ErrBadRequest):
		return &OpError{Kind: "bad_request", Err: err}
	}
	return &OpError{Kind: KindOther, Err: err}
}

// Causal is true: dynkv versions values with causal contexts.
func (d *DynkvSDK) Causal() bool { return true }
