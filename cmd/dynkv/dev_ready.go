package main

import (
	"fmt"
	"time"

	"github.com/dynkv/dynkv/node"
	"github.com/dynkv/dynkv/node/membership"
)

// waitForMembers waits until every node sees all of them alive, so the URLs
// printed next serve quorum requests at once. It asks the nodes, not their
// HTTP API, which may need TLS and a token (dev --secure).
func waitForMembers(nodes []*node.Node, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for _, n := range nodes {
		for !allAlive(n, len(nodes)) {
			if time.Now().After(deadline) {
				return fmt.Errorf("%s does not see all %d nodes alive after %v", n.ID(), len(nodes), timeout)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return nil
}

func allAlive(n *node.Node, want int) bool {
	alive := 0
	for _, m := range n.Members() {
		if m.Status == membership.StatusAlive {
			alive++
		}
	}
	return alive == want
}
