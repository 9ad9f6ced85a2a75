package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/dynkv/dynkv/node"
	"github.com/dynkv/dynkv/node/membership"
)

// waitForMembers polls every node's /cluster/members until each sees all of
// them alive, so the URLs printed next serve quorum requests at once.
func waitForMembers(nodes []*node.Node, timeout time.Duration) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(timeout)
	for _, n := range nodes {
		for !allAlive(client, n.HTTPAddr(), len(nodes)) {
			if time.Now().After(deadline) {
				return fmt.Errorf("%s does not see all %d nodes alive after %v", n.ID(), len(nodes), timeout)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return nil
}

func allAlive(client *http.Client, addr string, want int) bool {
	resp, err := client.Get("http://" + addr + "/cluster/members")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var members []membership.Member
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&members) != nil {
		return false
	}
	alive := 0
	for _, m := range members {
		if m.Status == membership.StatusAlive {
			alive++
		}
	}
	return alive == want
}
