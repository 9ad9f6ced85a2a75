package main

import (
	"log/slog"

	"github.com/dynkv/dynkv/node"
	"github.com/dynkv/dynkv/node/membership"
)

// startNode opens and starts one node with serf gossip, closing it again if
// it cannot start.
func startNode(nc node.Config, sc membership.SerfConfig, log *slog.Logger) (*node.Node, error) {
	nc.Logger = log
	sc.Logger = log.With("node", nc.NodeID)
	if sc.KeyringFile == "" {
		sc.KeyringFile = nc.GossipKeyringFile
	}
	m, err := membership.NewSerfMembership(sc)
	if err != nil {
		return nil, err
	}
	n, err := node.Open(nc, node.Deps{Membership: m})
	if err != nil {
		return nil, err
	}
	if err := n.Start(); err != nil {
		if cerr := n.Close(); cerr != nil {
			log.Warn("closing the node that failed to start", "err", cerr)
		}
		return nil, err
	}
	return n, nil
}
