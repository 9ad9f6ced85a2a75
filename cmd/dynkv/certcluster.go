package main

// dynkv cert create-cluster: everything a secured cluster of known node ids
// needs, in one command, for an init container (the image is FROM scratch:
// no shell to run several commands) or a quick start.

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/dynkv/dynkv/security/auth"
	"github.com/dynkv/dynkv/security/pki"
)

// Files create-cluster writes next to the CA, besides each node's directory.
const (
	clusterTokensFile = "tokens"      // the tokens file every node reads
	clusterAdminToken = "admin.token" // the admin token, for the operator
	clusterGossipKeys = "gossip.keys" // in each node's directory
)

func runCertCreateCluster(args []string, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	c := newCertCmd("create-cluster", "dynkv cert create-cluster --nodes ID[,ID...] [flags]",
		"Make a whole secured cluster's files in --certs-dir: the CA; for each node id a\n"+
			"directory ID/ with ca.crt, node.crt (for the id and the host name ID) and node.key,\n"+
			"and a gossip keyring ID/gossip.keys (one key, the same for all); a tokens file\n"+
			"\"tokens\" with one admin token, written alone to admin.token (mode 0600). Point each\n"+
			"node's --certs-dir at its ID/, --gossip-key-file at ID/gossip.keys, --tokens-file at\n"+
			"tokens. When --certs-dir already holds a CA it changes nothing and exits 0, so an\n"+
			"init container may run it at every start.")
	var ids []string
	c.f.list(&ids, "nodes", "the node `ids`, comma-separated")
	return c.run(args, stdout, stderr, lookupEnv, 0, func([]string) error {
		if len(ids) == 0 {
			return usageError{errors.New("--nodes is required")}
		}
		if _, err := os.Stat(filepath.Join(c.dir, pki.CAFile)); err == nil {
			_, err := fmt.Fprintf(stdout, "%s already holds a CA; nothing changed\n", c.dir)
			return err
		}
		if err := createCluster(c.dir, ids); err != nil {
			return err
		}
		_, err := fmt.Fprintf(stdout, "wrote a secured cluster's files for %s in %s (admin token in %s)\n",
			strings.Join(ids, ", "), c.dir, filepath.Join(c.dir, clusterAdminToken))
		return err
	})
}

func createCluster(dir string, ids []string) error {
	if err := pki.CreateCA(dir, false); err != nil {
		return err
	}
	_, key, err := newGossipKey()
	if err != nil {
		return err
	}
	for _, id := range ids {
		out := filepath.Join(dir, id)
		hosts := append([]string{id}, pki.DefaultHosts...)
		if _, err := pki.CreateNodeIn(dir, out, id, hosts, false); err != nil {
			return err
		}
		if err := writeNewKeyringFile(filepath.Join(out, clusterGossipKeys), key); err != nil {
			return err
		}
	}
	token, err := auth.CreateToken(filepath.Join(dir, clusterTokensFile), "admin", auth.RoleAdmin)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, clusterAdminToken), []byte(token+"\n"), 0o600); err != nil {
		return fmt.Errorf("write the admin token: %w", err)
	}
	return nil
}
