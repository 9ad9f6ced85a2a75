package pki

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// Reloader holds a node's current certificate and CA pool. The TLS configs
// it hands out read them at each handshake, so Reload (on SIGHUP) applies
// to every new connection while established ones carry on.
type Reloader struct {
	certFile, keyFile, caFile string
	cur                       atomic.Pointer[tlsState]
}

// tlsState is one consistent snapshot: a certificate and the pool it was
// checked against are swapped in together, never one without the other.
type tlsState struct {
	cert   *tls.Certificate
	pool   *x509.CertPool
	nodeID string
}

// NewReloader loads a node certificate, its key and the CA file.
func NewReloader(certFile, keyFile, caFile string) (*Reloader, error) {
	r := &Reloader{certFile: certFile, keyFile: keyFile, caFile: caFile}
	st, err := r.load()
	if err != nil {
		return nil, err
	}
	r.cur.Store(st)
	return r, nil
}

// Reload re-reads the files and swaps them in. On any error the old
// certificate and pool stay in use, so a half-copied rotation cannot take a
// node off the network.
func (r *Reloader) Reload() error {
	st, err := r.load()
	if err != nil {
		return err
	}
	if old := r.cur.Load(); st.nodeID != old.nodeID {
		// The ring knows this process by its id; taking on another node's
		// identity mid-flight would be a copying mistake, not a rotation.
		return fmt.Errorf("reload TLS: %s names node %q, but this node is %q (restart to change identity)",
			r.certFile, st.nodeID, old.nodeID)
	}
	r.cur.Store(st)
	return nil
}

// NodeID is the node id in the current certificate.
func (r *Reloader) NodeID() string { return r.cur.Load().nodeID }

// Certificate is the current node certificate, for callers that report
// what they serve (its fingerprint, its expiry).
func (r *Reloader) Certificate() *x509.Certificate { return r.cur.Load().cert.Leaf }

// load reads and checks the three files. The node certificate must be a
// node certificate and must verify against the CA file it comes with, for
// both usages: a node whose own CA file rejects its certificate would be
// refused by every peer, so that is caught here rather than by them.
func (r *Reloader) load() (*tlsState, error) {
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		// The tls package's messages name the problem, not the bytes.
		return nil, fmt.Errorf("load TLS: node key pair %s, %s: %w", r.certFile, r.keyFile, err)
	}
	if cert.Leaf == nil { // GODEBUG=x509keypairleaf=0 leaves it unset
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, fmt.Errorf("load TLS: %s: %w", r.certFile, err)
		}
	}
	pool, err := LoadCAPool(r.caFile)
	if err != nil {
		return nil, fmt.Errorf("load TLS: %w", err)
	}
	id, ok := NodeIDOf(cert.Leaf)
	if !ok {
		return nil, fmt.Errorf("load TLS: %s is not a node certificate (no %s URI)", r.certFile, NodeURIPrefix)
	}
	chain := append([]*x509.Certificate{cert.Leaf}, parseRest(cert.Certificate)...)
	for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
		if err := verifyChain(chain, pool, usage); err != nil {
			return nil, fmt.Errorf("load TLS: %s against %s: %w", r.certFile, r.caFile, err)
		}
	}
	return &tlsState{cert: &cert, pool: pool, nodeID: id}, nil
}

// parseRest parses the intermediates after the leaf in a key pair; ones
// that do not parse are left out and the chain check then fails on them.
func parseRest(ders [][]byte) []*x509.Certificate {
	var out []*x509.Certificate
	for _, der := range ders[1:] {
		if c, err := x509.ParseCertificate(der); err == nil {
			out = append(out, c)
		}
	}
	return out
}

// verifyChain checks that chain[0] chains to pool for usage. No host name
// is checked: identity is the node URI, read by the caller.
func verifyChain(chain []*x509.Certificate, pool *x509.CertPool, usage x509.ExtKeyUsage) error {
	if len(chain) == 0 {
		return errors.New("no certificate presented")
	}
	opts := x509.VerifyOptions{
		Roots:         pool,
		Intermediates: x509.NewCertPool(),
		CurrentTime:   time.Now(),
		KeyUsages:     []x509.ExtKeyUsage{usage},
	}
	for _, c := range chain[1:] {
		opts.Intermediates.AddCert(c)
	}
	if _, err := chain[0].Verify(opts); err != nil {
		return fmt.Errorf("certificate %q: %w", chain[0].Subject.CommonName, err)
	}
	return nil
}

// ServerConfig is for a listener: the internode one (requireClientCert
// true: only holders of a certificate from the current CA pool get in, and
// PeerNodeID says which node) or the client API (false: server-side TLS
// only). The certificate and pool are read per handshake, so a Reload
// applies to new connections. Callers may Clone it to set NextProtos.
func (r *Reloader) ServerConfig(requireClientCert bool) *tls.Config {
	cfg := &tls.Config{
		MinVersion: tls.VersionTLS13,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return r.cur.Load().cert, nil
		},
	}
	if requireClientCert {
		// RequireAnyClientCert plus our own check, rather than
		// RequireAndVerifyClientCert with ClientCAs, because ClientCAs
		// would freeze the pool at the time this config was made.
		// VerifyConnection also runs on resumed sessions, so a CA
		// dropped from the pool locks out its certificates at once.
		cfg.ClientAuth = tls.RequireAnyClientCert
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			return verifyChain(cs.PeerCertificates, r.cur.Load().pool, x509.ExtKeyUsageClientAuth)
		}
	}
	return cfg
}

// ClientConfig is for dialing a peer node. It presents the current node
// certificate and verifies the server itself: InsecureSkipVerify turns off
// only the standard host-name check, which is wrong for dynkv (peers are
// named by node id, not host name); VerifyConnection does the chain check
// against the current pool, requires a node certificate, and, when
// expectNodeID is set, that node's.
func (r *Reloader) ClientConfig(expectNodeID string) *tls.Config {
	return &tls.Config{
		MinVersion:         tls.VersionTLS13,
		InsecureSkipVerify: true,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return r.cur.Load().cert, nil
		},
		VerifyConnection: func(cs tls.ConnectionState) error {
			if err := verifyChain(cs.PeerCertificates, r.cur.Load().pool, x509.ExtKeyUsageServerAuth); err != nil {
				return fmt.Errorf("verify peer: %w", err)
			}
			id, ok := NodeIDOf(cs.PeerCertificates[0])
			switch {
			case !ok:
				return fmt.Errorf("verify peer: certificate %q is not a node certificate", cs.PeerCertificates[0].Subject.CommonName)
			case expectNodeID != "" && id != expectNodeID:
				return fmt.Errorf("verify peer: dialed node %q but the server is node %q", expectNodeID, id)
			}
			return nil
		},
	}
}
