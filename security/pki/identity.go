package pki

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// NodeURIPrefix starts the URI SAN that names a node: dynkv://node/<id>.
const NodeURIPrefix = "dynkv://node/"

// NodeIDOf returns the node id in cert's URI SAN. It looks at nothing else:
// not the common name, which a client certificate may share with a node
// id, nor host names. A certificate naming two different nodes names none.
func NodeIDOf(cert *x509.Certificate) (string, bool) {
	if cert == nil {
		return "", false
	}
	id := ""
	for _, u := range cert.URIs {
		s, ok := strings.CutPrefix(u.String(), NodeURIPrefix)
		if !ok {
			continue
		}
		if validName("node id", s) != nil || id != "" && s != id {
			return "", false
		}
		id = s
	}
	return id, id != ""
}

// PeerNodeID returns the node id of the peer of a completed handshake. The
// chain was verified during the handshake by the configs made here; this
// only reads the leaf, so it means nothing on a connection set up otherwise.
func PeerNodeID(cs tls.ConnectionState) (string, error) {
	if !cs.HandshakeComplete {
		return "", errors.New("peer node id: handshake not complete")
	}
	if len(cs.PeerCertificates) == 0 {
		return "", errors.New("peer node id: peer presented no certificate")
	}
	id, ok := NodeIDOf(cs.PeerCertificates[0])
	if !ok {
		return "", fmt.Errorf("peer node id: certificate %q is not a node certificate (no %s URI)",
			cs.PeerCertificates[0].Subject.CommonName, NodeURIPrefix)
	}
	return id, nil
}

// LoadCAPool reads a CA file (one certificate, or several while a CA is
// rotated) into a pool, for SDK and CLI clients that trust the cluster CA
// and nothing else.
func LoadCAPool(caFile string) (*x509.CertPool, error) {
	certs, err := readCerts(caFile)
	if err != nil {
		return nil, fmt.Errorf("load CA pool: %w", err)
	}
	pool := x509.NewCertPool()
	for _, c := range certs {
		if !c.IsCA {
			return nil, fmt.Errorf("load CA pool: %s: %q is not a CA certificate", caFile, c.Subject.CommonName)
		}
		pool.AddCert(c)
	}
	return pool, nil
}

// CertInfo describes one certificate found by List.
type CertInfo struct {
	Path        string
	Kind        string // "ca", "node" or "client"
	Subject     string
	NodeID      string // node certificates only
	Hosts       []string
	NotAfter    time.Time
	Fingerprint string // SHA-256 of the DER, hex
}

// Certificate kinds in CertInfo.Kind.
const (
	KindCA     = "ca"
	KindNode   = "node"
	KindClient = "client"
)

// List describes every certificate in the *.crt files of dir, sorted by
// Path; a file holding several (a CA rotation bundle) gives one entry per
// certificate, in file order. A file that does not parse is an error: a
// listing that silently skipped it would hide exactly the file to look at.
func List(dir string) ([]CertInfo, error) {
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("list certificates: %w", err)
	}
	paths, err := filepath.Glob(filepath.Join(dir, "*.crt"))
	if err != nil {
		return nil, fmt.Errorf("list certificates in %s: %w", dir, err)
	}
	slices.Sort(paths)
	var out []CertInfo
	for _, p := range paths {
		certs, err := readCerts(p)
		if err != nil {
			return nil, fmt.Errorf("list certificates: %w", err)
		}
		for _, c := range certs {
			out = append(out, describe(p, c))
		}
	}
	return out, nil
}

func describe(path string, c *x509.Certificate) CertInfo {
	info := CertInfo{
		Path:        path,
		Kind:        KindClient,
		Subject:     c.Subject.String(),
		NotAfter:    c.NotAfter,
		Fingerprint: Fingerprint(c),
	}
	info.Hosts = append(info.Hosts, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		info.Hosts = append(info.Hosts, ip.String())
	}
	if id, ok := NodeIDOf(c); ok {
		info.Kind, info.NodeID = KindNode, id
	}
	if c.IsCA {
		info.Kind = KindCA
	}
	return info
}

// Fingerprint is the SHA-256 of a certificate's DER, in hex, as CertInfo
// shows it.
func Fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}
