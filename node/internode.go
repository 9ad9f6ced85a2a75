package node

import (
	"fmt"
	"net"

	"github.com/dynkv/dynkv/node/internal/wire"
	"github.com/dynkv/dynkv/node/transport"
)

// The internode listener: peers' framed connections (node/transport,
// FramedServer), on a port of its own so that it can be firewalled apart
// from the client API. Its default port is a free one, announced by gossip
// (membership.Member.InternodeAddr), so no default can collide with
// another listener of dev, serve or Compose.

// listenInternode binds the internode listener; HTTP must be bound.
func (n *Node) listenInternode() error {
	addr := n.cfg.InternodeAddr
	if addr == "" {
		host, _, err := net.SplitHostPort(n.cfg.HTTPAddr)
		if err != nil {
			return fmt.Errorf("internode address from --http-addr %q: %w", n.cfg.HTTPAddr, err)
		}
		addr = net.JoinHostPort(host, "0")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen for internode traffic on %s: %w", addr, err)
	}
	n.internodeListener = ln
	n.internodeAddr, err = advertisedInternode(n.cfg.AdvertiseInternodeAddr, ln.Addr(), n.httpAddr)
	if err != nil {
		ln.Close()
		return err
	}
	return nil
}

// advertisedInternode is the address peers dial: the one configured, or
// the bound one, whose host is the advertised HTTP host when it listens on
// every interface (0.0.0.0 is no address to dial).
func advertisedInternode(configured string, bound net.Addr, httpAddr string) (string, error) {
	if configured != "" {
		return configured, nil
	}
	tcp, ok := bound.(*net.TCPAddr)
	if !ok || !tcp.IP.IsUnspecified() {
		return bound.String(), nil
	}
	host, _, err := net.SplitHostPort(httpAddr)
	if err != nil {
		return "", fmt.Errorf("internode listener on every interface: set its advertised address (%w)", err)
	}
	return net.JoinHostPort(host, fmt.Sprint(tcp.Port)), nil
}

// InternodeAddr is the address peers reach this node's internode listener
// at ("" when it serves none).
func (n *Node) InternodeAddr() string { return n.internodeAddr }

// serveInternode starts answering peers; the admission must be set.
func (n *Node) serveInternode() {
	if n.internodeListener == nil {
		return
	}
	serverTLS, authenticate := n.cfg.Security.internodeServerTLS()
	n.framed = transport.NewFramedServer(n, transport.FramedServerConfig{
		TLS: serverTLS, Authenticate: authenticate,
		MaxFrame:     n.cfg.MaxInternodeBytes,
		IdleTimeout:  n.cfg.ServerIdleTimeout,
		WriteTimeout: n.cfg.RequestTimeout,
		MaxInFlight:  1024,
		Admit:        n.admit.admitInternode,
		Logger:       n.log.With("component", "internode"),
	})
	go func() {
		if err := n.framed.Serve(n.internodeListener); err != nil {
			n.log.Error("internode server stopped", "err", err)
		}
	}()
}

// closeInternode stops answering peers and waits for the requests being
// answered, so that none reaches the replica after it closed.
func (n *Node) closeInternode() {
	switch {
	case n.framed != nil:
		n.framed.Close()
	case n.internodeListener != nil:
		n.internodeListener.Close()
	}
}

// admitInternode reserves an internode request's body in the node-wide
// budget of bytes in flight, as the HTTP server does for its bodies
// (admission.go).
func (a *admission) admitInternode(size int) (func(), error) {
	if !a.acquire(int64(size), true) {
		a.refused[refusedOverloaded].Add(1)
		return nil, &wire.RemoteError{Code: CodeOverloaded, Message: msgOverloaded}
	}
	return func() { a.inflight.Add(-int64(size)) }, nil
}
