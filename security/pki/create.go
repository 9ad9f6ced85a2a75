package pki

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Lifetimes. The CA outlives many node certificates so that rotating a
// node's certificate never means rotating the trust every node holds.
const (
	caLifetime   = 10 * 365 * 24 * time.Hour
	leafLifetime = 2 * 365 * 24 * time.Hour
	// backdate covers clocks a little behind the one that issued.
	backdate = time.Hour
)

// DefaultHosts are the SANs a node certificate gets when no hosts are
// given: enough for a node and its tools on one machine.
var DefaultHosts = []string{"localhost", "127.0.0.1", "::1"}

// CreateCA makes a new self-signed cluster CA in dir (created 0700 if
// missing): ca.crt and ca.key.
func CreateCA(dir string, overwrite bool) error {
	certPath, keyPath := filepath.Join(dir, CAFile), filepath.Join(dir, CAKeyFile)
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return fmt.Errorf("create certs dir: %w", err)
	}
	if err := checkAbsent(overwrite, certPath, keyPath); err != nil {
		return err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("generate CA key: %w", err)
	}
	tmpl, err := template("dynkv cluster CA", caLifetime)
	if err != nil {
		return err
	}
	tmpl.IsCA = true
	tmpl.BasicConstraintsValid = true
	// The CA signs leaves directly; no intermediate may be made under it.
	tmpl.MaxPathLen, tmpl.MaxPathLenZero = 0, true
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return fmt.Errorf("sign CA certificate: %w", err)
	}
	return writePair(certPath, der, keyPath, key)
}

// CreateNode makes node nodeID's certificate, signed by the CA in dir, and
// writes it to dir as node.crt and node.key. hosts are DNS names and IP
// addresses for the SANs (DefaultHosts if empty).
func CreateNode(dir, nodeID string, hosts []string, overwrite bool) error {
	_, err := CreateNodeIn(dir, dir, nodeID, hosts, overwrite)
	return err
}

// CreateNodeIn is CreateNode with the node's files going to outDir rather
// than to the CA's directory, so that one CA directory can issue every
// node's certs directory. When outDir has no ca.crt the CA certificate (never
// its key) is copied there, making outDir complete for a node; when it has
// one, that file must already trust the issuing CA. It returns the paths it
// wrote.
func CreateNodeIn(caDir, outDir, nodeID string, hosts []string, overwrite bool) ([]string, error) {
	if err := validName("node id", nodeID); err != nil {
		return nil, err
	}
	if len(hosts) == 0 {
		hosts = DefaultHosts
	}
	tmpl, err := template(nodeID, leafLifetime)
	if err != nil {
		return nil, err
	}
	if err := addHosts(tmpl, hosts); err != nil {
		return nil, err
	}
	tmpl.URIs = []*url.URL{nodeURI(nodeID)}
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}

	ca, caKey, err := loadCA(caDir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(outDir, dirMode); err != nil {
		return nil, fmt.Errorf("create certs dir: %w", err)
	}
	certPath, keyPath := filepath.Join(outDir, NodeCertFile), filepath.Join(outDir, NodeKeyFile)
	if err := checkAbsent(overwrite, certPath, keyPath); err != nil {
		return nil, err
	}
	copyCA, err := needsCACopy(ca, caDir, outDir)
	if err != nil {
		return nil, err
	}
	if err := issue(tmpl, ca, caKey, certPath, keyPath); err != nil {
		return nil, err
	}
	written := []string{certPath, keyPath}
	if copyCA {
		caPath := filepath.Join(outDir, CAFile)
		if err := writeFileAtomic(caPath, pemCert(ca.Raw), certMode); err != nil {
			return written, err
		}
		written = append(written, caPath)
	}
	return written, nil
}

// CreateClient makes client name's certificate, signed by the CA in dir,
// as client.<name>.crt and client.<name>.key in dir.
func CreateClient(dir, name string, overwrite bool) error {
	if err := validName("client name", name); err != nil {
		return err
	}
	tmpl, err := template(name, leafLifetime)
	if err != nil {
		return err
	}
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	ca, caKey, err := loadCA(dir)
	if err != nil {
		return err
	}
	certPath, keyPath := filepath.Join(dir, ClientCertFile(name)), filepath.Join(dir, ClientKeyFile(name))
	if err := checkAbsent(overwrite, certPath, keyPath); err != nil {
		return err
	}
	return issue(tmpl, ca, caKey, certPath, keyPath)
}

// issue makes a fresh key, has the CA sign tmpl for it and writes both.
func issue(tmpl, ca *x509.Certificate, caKey *ecdsa.PrivateKey, certPath, keyPath string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("generate key for %s: %w", certPath, err)
	}
	// ECDSA keys only sign; KeyEncipherment is an RSA key-exchange usage.
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return fmt.Errorf("sign %s: %w", certPath, err)
	}
	return writePair(certPath, der, keyPath, key)
}

// template starts a certificate: a random 128-bit serial (unguessable, so
// no two issuers ever collide), common name cn, valid from a little before
// now for lifetime.
func template(cn string, lifetime time.Duration) (*x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("generate serial number: %w", err)
	}
	now := time.Now()
	return &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"dynkv"}},
		NotBefore:    now.Add(-backdate),
		NotAfter:     now.Add(lifetime),
	}, nil
}

// addHosts puts each host into the IP or DNS SANs.
func addHosts(tmpl *x509.Certificate, hosts []string) error {
	for _, h := range hosts {
		h = strings.TrimSpace(h)
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			continue
		}
		if h == "" || strings.ContainsAny(h, "/:@ \t") {
			return fmt.Errorf("%w: host %q: want a DNS name or an IP address", ErrInvalidName, h)
		}
		if !slices.Contains(tmpl.DNSNames, h) {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	return nil
}

func nodeURI(id string) *url.URL {
	u, _ := url.Parse(NodeURIPrefix + id) // valid: id matched namePattern
	return u
}

// loadCA reads the CA certificate and key from dir and checks that they
// belong together and that the certificate may sign.
func loadCA(dir string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	certPath, keyPath := filepath.Join(dir, CAFile), filepath.Join(dir, CAKeyFile)
	certs, err := readCerts(certPath)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, fmt.Errorf("no CA in %s (create it first): %w", dir, err)
		}
		return nil, nil, fmt.Errorf("load CA: %w", err)
	}
	key, err := readKey(keyPath)
	if err != nil {
		return nil, nil, fmt.Errorf("load CA key: %w", err)
	}
	// ca.crt may be a rotation bundle; the signing CA is the one whose
	// public key ca.key holds.
	for _, c := range certs {
		if pub, ok := c.PublicKey.(*ecdsa.PublicKey); ok && pub.Equal(&key.PublicKey) {
			if !c.IsCA || c.KeyUsage&x509.KeyUsageCertSign == 0 {
				return nil, nil, fmt.Errorf("%s is not a CA certificate", certPath)
			}
			return c, key, nil
		}
	}
	return nil, nil, fmt.Errorf("%s does not match any certificate in %s", keyPath, certPath)
}

// needsCACopy reports whether outDir lacks a ca.crt. When it has one that
// does not contain ca, issuing would give the node a certificate its own
// trust file rejects, so that is an error, found before anything is written.
func needsCACopy(ca *x509.Certificate, caDir, outDir string) (bool, error) {
	path := filepath.Join(outDir, CAFile)
	if filepath.Clean(caDir) == filepath.Clean(outDir) {
		return false, nil
	}
	certs, err := readCerts(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return true, nil
	case err != nil:
		return false, err
	}
	for _, c := range certs {
		if bytes.Equal(c.Raw, ca.Raw) {
			return false, nil
		}
	}
	return false, fmt.Errorf("%s does not contain the CA in %s: remove it or copy %s there", path, caDir, filepath.Join(caDir, CAFile))
}
