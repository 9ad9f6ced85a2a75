package client_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/dynkv/dynkv/node"
)

// shared is a 3-node cluster serving HTTP on loopback for the examples,
// started once for the test binary. Tests that kill nodes start their own.
var shared struct {
	cluster   *node.LocalCluster
	endpoints []string
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "dynkv-client-examples-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	c, err := node.StartLocalCluster(node.LocalClusterOptions{Nodes: 3, Dir: dir, HTTP: true})
	if err != nil {
		os.RemoveAll(dir)
		fmt.Fprintln(os.Stderr, "start the examples' cluster:", err)
		os.Exit(1)
	}
	shared.cluster = c
	shared.endpoints = endpointsOf(c)
	code := m.Run()
	if err := c.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "close the examples' cluster:", err)
		code = max(code, 1)
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// endpointsOf lists the cluster's HTTP endpoints, n1 first.
func endpointsOf(c *node.LocalCluster) []string {
	out := make([]string, c.Size())
	for i := range out {
		out[i] = "http://" + c.Addr(i)
	}
	return out
}

// startCluster runs a cluster of its own for a test that hurts it.
func startCluster(t *testing.T, nodes int, configure func(i int, c *node.Config)) *node.LocalCluster {
	t.Helper()
	c, err := node.StartLocalCluster(node.LocalClusterOptions{Nodes: nodes, Dir: t.TempDir(), HTTP: true, Configure: configure})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("close cluster: %v", err)
		}
	})
	return c
}
