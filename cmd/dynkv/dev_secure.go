package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/dynkv/dynkv/node"
	"github.com/dynkv/dynkv/security/auth"
	"github.com/dynkv/dynkv/security/pki"
)

// devSecurity is what `dynkv dev --secure` makes in its data directory: a
// throwaway CA with a certificate per node, and a tokens file with one admin
// token, so that a local cluster runs exactly as a secured one does.
type devSecurity struct {
	dir     string // <data>/secure
	token   string // the admin token, printed once
	peers   []*pki.Reloader
	tokens  *auth.Store
	keyring []string // each node's gossip keyring file
}

// devTokenName is the dev cluster's one token; a new one replaces it on
// every start, so it need not be kept.
const devTokenName = "dev-admin"

func makeDevSecurity(dataDir string, nodes int) (*devSecurity, error) {
	s := &devSecurity{dir: filepath.Join(dataDir, "secure")}
	// A kept data directory keeps its CA and certificates across runs.
	if err := pki.CreateCA(s.dir, false); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("dev CA: %w", err)
	}
	for i := range nodes {
		id := node.NodeID(i)
		nd := filepath.Join(s.dir, id)
		if _, err := pki.CreateNodeIn(s.dir, nd, id, pki.DefaultHosts, false); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("dev certificate of %s: %w", id, err)
		}
		r, err := pki.NewReloader(filepath.Join(nd, pki.NodeCertFile), filepath.Join(nd, pki.NodeKeyFile), filepath.Join(nd, pki.CAFile))
		if err != nil {
			return nil, fmt.Errorf("dev certificate of %s: %w", id, err)
		}
		s.peers = append(s.peers, r)
	}
	if err := s.makeKeyrings(nodes); err != nil {
		return nil, err
	}
	tokensFile := filepath.Join(s.dir, "tokens")
	if err := auth.RevokeToken(tokensFile, devTokenName); err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, auth.ErrNoSuchToken) {
		return nil, fmt.Errorf("dev token: %w", err)
	}
	var err error
	if s.token, err = auth.CreateToken(tokensFile, devTokenName, auth.RoleAdmin); err != nil {
		return nil, fmt.Errorf("dev token: %w", err)
	}
	if s.tokens, err = auth.OpenStore(tokensFile); err != nil {
		return nil, fmt.Errorf("dev token: %w", err)
	}
	return s, nil
}

// makeKeyrings gives every node a gossip keyring file of its own (serf
// rewrites it when keys rotate) holding one key, unless a kept data
// directory has them already.
func (s *devSecurity) makeKeyrings(nodes int) error {
	_, key, err := newGossipKey()
	if err != nil {
		return err
	}
	for i := range nodes {
		path := filepath.Join(s.dir, node.NodeID(i), "gossip.keys")
		if _, err := os.Stat(path); err != nil {
			if err := writeNewKeyringFile(path, key); err != nil {
				return fmt.Errorf("dev gossip keyring: %w", err)
			}
		}
		s.keyring = append(s.keyring, path)
	}
	return nil
}

// apply secures node i's configuration.
func (s *devSecurity) apply(i int, nc *node.Config) {
	nc.Security = node.Security{PeerTLS: s.peers[i], ClientTLS: s.peers[i].ServerConfig(false), Tokens: s.tokens}
	nc.GossipKeyringFile = s.keyring[i]
}

func (s *devSecurity) caFile() string { return filepath.Join(s.dir, pki.CAFile) }

// printTry prints how to reach the secured cluster with curl and the CLI.
func (s *devSecurity) printTry(w io.Writer, first, last string) {
	ca := s.caFile()
	fmt.Fprintf(w, "\nSecured: mutual TLS between nodes, TLS and tokens for clients (docs/SECURITY.md).\n")
	fmt.Fprintf(w, "  CA certificate  %s\n  admin token     %s\n", ca, s.token)
	fmt.Fprintf(w, "\nTry:\n")
	fmt.Fprintf(w, "  export DYNKV_TOKEN=%s DYNKV_CA_CERT=%s\n", s.token, ca)
	fmt.Fprintf(w, "  curl -i --cacert \"$DYNKV_CA_CERT\" -H \"Authorization: Bearer $DYNKV_TOKEN\" -X PUT --data-binary 'hello' -H 'Content-Type: text/plain' https://%s/kv/greeting\n", first)
	fmt.Fprintf(w, "  curl -i --cacert \"$DYNKV_CA_CERT\" -H \"Authorization: Bearer $DYNKV_TOKEN\" https://%s/kv/greeting\n", last)
	fmt.Fprintf(w, "  dynkv get --endpoints https://%s greeting   # reads DYNKV_TOKEN and DYNKV_CA_CERT\n", first)
}

// removeDevToken forgets the dev token when the cluster stops, so that a
// kept data directory holds no live secret.
func (s *devSecurity) removeDevToken() error {
	err := auth.RevokeToken(filepath.Join(s.dir, "tokens"), devTokenName)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}
