package main

// dynkv cert install-node: a node's secured files out of one read-only
// directory of the whole cluster's — a Kubernetes Secret mounted in a
// StatefulSet, where every pod sees the same files and the image has no
// shell to pick its own (deploy/kubernetes/README.md).

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/dynkv/dynkv/node/membership"
	"github.com/dynkv/dynkv/security/pki"
)

func runCertInstallNode(args []string, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	c := newCertCmd("install-node", "dynkv cert install-node NODE_ID --from DIR --certs-dir DIR [--gossip-key-file FILE]",
		"Install node NODE_ID's files from --from, a directory holding the whole cluster's\n"+
			"(ca.crt, NODE_ID.crt, NODE_ID.key, gossip.keys): ca.crt, node.crt and node.key into\n"+
			"--certs-dir, replaced at every run so that a new certificate in --from takes effect\n"+
			"at the next start, and gossip.keys into --gossip-key-file (mode 0600) only when that\n"+
			"file does not exist yet: the node keeps its keyring up to date itself through a key\n"+
			"rotation (dynkv keyring). For an init container; it checks that the certificate\n"+
			"names NODE_ID.")
	var from, keyFile string
	c.f.StringVar(&from, "from", "", "`directory` holding every node's files (a mounted Secret)")
	c.f.StringVar(&keyFile, "gossip-key-file", "", "the node's own keyring `file`; none: no gossip key is installed")
	return c.run(args, stdout, stderr, lookupEnv, 1, func(pos []string) error {
		if from == "" {
			return usageError{errors.New("--from is required")}
		}
		id := pos[0]
		if err := installNodeCerts(from, c.dir, id); err != nil {
			return err
		}
		msg := fmt.Sprintf("installed %s's certificate in %s", id, c.dir)
		if keyFile != "" {
			seeded, err := seedKeyring(filepath.Join(from, clusterGossipKeys), keyFile)
			if err != nil {
				return err
			}
			if seeded {
				msg += ", the gossip keyring in " + keyFile
			} else {
				msg += "; kept the node's keyring " + keyFile
			}
		}
		_, err := fmt.Fprintln(stdout, msg)
		return err
	})
}

// installNodeCerts checks that id's certificate and key in from load as
// id's, then copies them and the CA into out under the names --certs-dir
// expects. A bad source changes nothing.
func installNodeCerts(from, out, id string) error {
	cert, key, ca := filepath.Join(from, id+".crt"), filepath.Join(from, id+".key"), filepath.Join(from, pki.CAFile)
	r, err := pki.NewReloader(cert, key, ca)
	if err != nil {
		return fmt.Errorf("node %s's files: %w", id, err)
	}
	if r.NodeID() != id {
		return fmt.Errorf("%s names node %q, not %q", cert, r.NodeID(), id)
	}
	if err := os.MkdirAll(out, 0o700); err != nil {
		return fmt.Errorf("certs dir: %w", err)
	}
	for src, dst := range map[string]string{ca: pki.CAFile, cert: pki.NodeCertFile, key: pki.NodeKeyFile} {
		if err := copyReplacing(src, filepath.Join(out, dst)); err != nil {
			return err
		}
	}
	return nil
}

// copyReplacing writes src's bytes to dst (mode 0600) through a temporary
// file, so that a node never reads half a file.
func copyReplacing(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("read %w", err)
	}
	tmp := dst + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("write %w", err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("install %s: %w", dst, err)
	}
	return nil
}

// seedKeyring copies the cluster's keyring to the node's file unless that
// exists, checking that it is a keyring; it reports whether it copied.
func seedKeyring(src, dst string) (bool, error) {
	if _, err := os.Stat(dst); err == nil {
		return false, nil
	}
	b, err := os.ReadFile(src)
	if err != nil {
		return false, fmt.Errorf("read the cluster's gossip keyring: %w", err)
	}
	var keys []string
	if err := json.Unmarshal(b, &keys); err != nil || len(keys) == 0 {
		return false, fmt.Errorf("%s is not a gossip keyring (a JSON list of base64 keys)", src)
	}
	for i, k := range keys {
		if _, err := membership.DecodeGossipKey(k); err != nil {
			return false, fmt.Errorf("%s: key %d: %w", src, i+1, err)
		}
	}
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return false, fmt.Errorf("create the node's keyring: %w", err)
	}
	if _, err = f.Write(b); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(dst)
		return false, fmt.Errorf("write %s: %w", dst, err)
	}
	return true, nil
}
