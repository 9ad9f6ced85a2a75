package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// An endpoint that failed (refused a connection, said it is shutting down,
// broke a connection) carries no request again until a readiness probe to
// it — GET /healthz, which a node answers 200 only once it serves — has
// succeeded. The probe is a read, so when it fails nothing is lost; a write
// sent on a hunch could fail ambiguously instead. That matters most behind
// a TCP proxy (Docker's published ports, a cloud load balancer): while the
// node restarts, the proxy accepts the connection, takes the request, and
// only then resets it because the node behind is not listening yet, which
// to the client looks exactly like a node dying mid-write.

// ProbeTimeout bounds one readiness probe.
const ProbeTimeout = 2 * time.Second

// errProbing skips an endpoint while another call probes it.
var errProbing = errors.New("another request is probing it")

// markFailed takes ep out of rotation until it is probed ready, and
// passes it over for the cool-down.
func (c *Client) markFailed(ep *endpoint) {
	ep.suspect.Store(true)
	ep.downUntil.Store(time.Now().Add(c.cooldown).UnixNano())
}

// ready reports (nil) whether ep may carry a request, probing it first if
// it failed before. One call probes at a time; the others move on.
func (c *Client) ready(ctx context.Context, ep *endpoint) error {
	if !ep.suspect.Load() {
		return nil
	}
	if !ep.probeMu.TryLock() {
		return fmt.Errorf("%s: not ready: %w", ep.url, errProbing)
	}
	defer ep.probeMu.Unlock()
	if !ep.suspect.Load() {
		return nil // a probe that just finished found it ready
	}
	if err := c.probe(ctx, ep); err != nil {
		return fmt.Errorf("%s: not ready: %w", ep.url, err)
	}
	ep.suspect.Store(false)
	ep.downUntil.Store(0)
	return nil
}

// probe asks ep's /healthz once.
func (c *Client) probe(ctx context.Context, ep *endpoint) error {
	ctx, cancel := context.WithTimeout(ctx, ProbeTimeout)
	defer cancel()
	resp, err := c.attempt(ctx, ep, &request{method: http.MethodGet, path: "/healthz", accept: "application/json"})
	defer resp.release()
	if err != nil {
		return err
	}
	if resp.status != http.StatusOK {
		return fmt.Errorf("/healthz answered %d", resp.status)
	}
	return nil
}
