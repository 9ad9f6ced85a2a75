package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"sort"
	"time"

	"github.com/buraksezer/olric"
	"github.com/buraksezer/olric/config"

	"github.com/dynkv/dynkv/loadtest"
)

// olricDriver drives an Olric cluster through Olric's own Go cluster
// client, as an application would: one ClusterClient shared by every
// worker (it routes each key to its partition's primary owner and keeps a
// connection pool per member) and one DMap. Olric has no causal contexts:
// Causal is false and every write is a blind Put (last writer wins), as
// with Redis.
type olricDriver struct {
	cl *olric.ClusterClient
	dm olric.DMap
}

var _ loadtest.Driver = (*olricDriver)(nil)

// newOlricDriver connects to the cluster through endpoints (any member
// finds the others). poolSize is the connections kept per member: at
// least the worker count, so that no worker waits for a pooled connection
// and each has one request in flight like the other drivers' clients.
func newOlricDriver(endpoints []string, dmap string, poolSize int, timeout time.Duration) (*olricDriver, error) {
	cc := &config.Client{
		DialTimeout:  timeout,
		ReadTimeout:  timeout,
		WriteTimeout: timeout,
		PoolSize:     poolSize,
		// -1 is "none" to Olric: a failed request counts as an error
		// instead of being retried and hidden, as in the other drivers.
		MaxRetries: -1,
	}
	cl, err := olric.NewClusterClient(endpoints,
		olric.WithConfig(cc),
		// The client logs routing-table refresh failures; keep them
		// on stderr with the progress lines.
		olric.WithLogger(log.New(os.Stderr, "olric client: ", 0)))
	if err != nil {
		return nil, fmt.Errorf("olric driver: connecting to %v: %w", endpoints, err)
	}
	dm, err := cl.NewDMap(dmap)
	if err != nil {
		cl.Close(context.Background())
		return nil, fmt.Errorf("olric driver: dmap %q: %w", dmap, err)
	}
	return &olricDriver{cl: cl, dm: dm}, nil
}

func (d *olricDriver) Name() string { return "olric" }

// Causal is false: a Put replaces whatever is stored.
func (d *olricDriver) Causal() bool { return false }

// Check pings every member the cluster reports.
func (d *olricDriver) Check(ctx context.Context) error {
	members, err := d.cl.Members(ctx)
	if err != nil {
		return fmt.Errorf("listing members: %w", err)
	}
	var errs []error
	for _, m := range members {
		if _, err := d.cl.Ping(ctx, m.Name, ""); err != nil {
			errs = append(errs, fmt.Errorf("ping %s: %w", m.Name, err))
		}
	}
	return errors.Join(errs...)
}

// NewClient returns worker i's client: all share the cluster client.
func (d *olricDriver) NewClient(int) (loadtest.Client, error) {
	return &olricClient{dm: d.dm}, nil
}

func (d *olricDriver) Close() error { return d.cl.Close(context.Background()) }

// members returns the cluster's member names, sorted.
func (d *olricDriver) members(ctx context.Context) ([]string, error) {
	ms, err := d.cl.Members(ctx)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(ms))
	for i, m := range ms {
		names[i] = m.Name
	}
	sort.Strings(names)
	return names, nil
}

// settled reports whether every partition has one primary owner and
// replicas-1 replica owners, so that a preload is not measured against
// partitions still moving between members.
func (d *olricDriver) settled(ctx context.Context, replicas int) (bool, error) {
	rt, err := d.cl.RoutingTable(ctx)
	if err != nil {
		return false, err
	}
	for _, r := range rt {
		if len(r.PrimaryOwners) != 1 || len(r.ReplicaOwners) != replicas-1 {
			return false, nil
		}
	}
	return len(rt) > 0, nil
}

type olricClient struct {
	dm olric.DMap
}

// Read is a DMap Get; a missing key is Found false.
func (c *olricClient) Read(ctx context.Context, key []byte, res *loadtest.ReadResult) error {
	res.Found, res.Values, res.Token = false, res.Values[:0], res.Token[:0]
	gr, err := c.dm.Get(ctx, string(key))
	if errors.Is(err, olric.ErrKeyNotFound) {
		return nil
	}
	if err != nil {
		return opError(err)
	}
	v, err := gr.Byte()
	if err != nil {
		return &loadtest.OpError{Kind: loadtest.KindProtocol, Err: fmt.Errorf("decoding value: %w", err)}
	}
	res.Found = true
	res.Values = append(res.Values, v)
	return nil
}

// Write is a DMap Put; the token is ignored (Olric has none).
func (c *olricClient) Write(ctx context.Context, key, value, _ []byte, res *loadtest.WriteResult) error {
	res.Token = res.Token[:0]
	// Put encodes value into its own buffer before returning, so the
	// generator may reuse value at once.
	if err := c.dm.Put(ctx, string(key), value); err != nil {
		return opError(err)
	}
	return nil
}

func (c *olricClient) Close() error { return nil }

// opError gives err a kind for the report, like the other drivers' kinds:
// Olric's quorum errors by name, network failures as connection or
// client_timeout, anything else as olric_other.
func opError(err error) error {
	var ne net.Error
	isNet := errors.As(err, &ne)
	kind := "olric_other"
	switch {
	case errors.Is(err, olric.ErrReadQuorum), errors.Is(err, olric.ErrWriteQuorum):
		kind = "olric_quorum"
	case errors.Is(err, olric.ErrClusterQuorum):
		kind = "olric_cluster_quorum"
	case errors.Is(err, olric.ErrOperationTimeout):
		kind = "timeout"
	case errors.Is(err, context.DeadlineExceeded), isNet && ne.Timeout():
		kind = loadtest.KindClientTimeout
	case errors.Is(err, olric.ErrConnRefused), errors.Is(err, olric.ErrServerGone), isNet,
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		kind = loadtest.KindConnection
	}
	return &loadtest.OpError{Kind: kind, Err: err}
}
