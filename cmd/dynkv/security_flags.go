package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sync/atomic"
	"syscall"

	"github.com/dynkv/dynkv/node"
	"github.com/dynkv/dynkv/security/auth"
	"github.com/dynkv/dynkv/security/pki"
)

// securityFlags say who may talk to a node (docs/SECURITY.md).
type securityFlags struct {
	certsDir             string
	tlsCert, tlsKey      string
	tlsClientCA          string
	tokensFile           string
	metricsOpen          bool
	insecure             bool
	gossipKeyringPresent func() bool // whether gossip is encrypted (gossip flags)
}

// The usage of the flags healthcheck shares with serve.
const (
	certsDirUsage = "`directory` with ca.crt, node.crt and node.key (dynkv cert create-node): peers then talk mutual TLS, " +
		"each proving its node id, and the client API serves TLS with node.crt unless --tls-cert is given"
	tlsCertUsage = "certificate `file` (PEM) of the client API's TLS, with --tls-key"
)

func (s *securityFlags) register(f *flags) {
	f.StringVar(&s.certsDir, "certs-dir", "", certsDirUsage)
	f.StringVar(&s.tlsCert, "tls-cert", "", tlsCertUsage)
	f.StringVar(&s.tlsKey, "tls-key", "", "private key `file` (PEM) of --tls-cert")
	f.StringVar(&s.tlsClientCA, "tls-client-ca", "", "CA `file` (PEM): clients of the API must present a certificate it signed")
	f.StringVar(&s.tokensFile, "tokens-file", "", "tokens `file` (dynkv token create): every request but /livez, /readyz, /healthz needs a bearer token of its role")
	f.BoolVar(&s.metricsOpen, "metrics-open", false, "serve /metrics without a token when --tokens-file is set (for scrapers on a trusted network)")
	f.BoolVar(&s.insecure, "insecure", false, "allow listening beyond loopback without peer TLS (--certs-dir) and gossip encryption (--gossip-key-file): anyone who reaches a port then owns the cluster")
}

// build loads the certificates and tokens, and returns what SIGHUP reloads.
func (s *securityFlags) build() (node.Security, func() error, error) {
	var sec node.Security
	var reloads []func() error
	if s.certsDir != "" {
		r, err := pki.NewReloader(filepath.Join(s.certsDir, pki.NodeCertFile), filepath.Join(s.certsDir, pki.NodeKeyFile), filepath.Join(s.certsDir, pki.CAFile))
		if err != nil {
			return sec, nil, fmt.Errorf("--certs-dir: %w", err)
		}
		sec.PeerTLS = r
		sec.ClientTLS = r.ServerConfig(false)
		reloads = append(reloads, r.Reload)
	}
	if (s.tlsCert == "") != (s.tlsKey == "") {
		return sec, nil, errors.New("--tls-cert and --tls-key go together")
	}
	if s.tlsCert != "" {
		kp := &keyPair{certFile: s.tlsCert, keyFile: s.tlsKey}
		if err := kp.reload(); err != nil {
			return sec, nil, fmt.Errorf("--tls-cert: %w", err)
		}
		sec.ClientTLS = &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: kp.get}
		reloads = append(reloads, kp.reload)
	}
	if s.tlsClientCA != "" {
		if sec.ClientTLS == nil {
			return sec, nil, errors.New("--tls-client-ca needs TLS on the client API: --certs-dir or --tls-cert")
		}
		pool, err := pki.LoadCAPool(s.tlsClientCA)
		if err != nil {
			return sec, nil, fmt.Errorf("--tls-client-ca: %w", err)
		}
		sec.ClientTLS = requireClientCerts(sec.ClientTLS, pool)
	}
	if s.tokensFile != "" {
		tokens, err := auth.OpenStore(s.tokensFile)
		if err != nil {
			return sec, nil, fmt.Errorf("--tokens-file: %w", err)
		}
		sec.Tokens = tokens
		reloads = append(reloads, tokens.Reload)
	}
	sec.MetricsOpen = s.metricsOpen
	return sec, func() error {
		var errs []error
		for _, r := range reloads {
			errs = append(errs, r())
		}
		return errors.Join(errs...)
	}, nil
}

// requireClientCerts makes clients of cfg present a certificate pool
// signed. The pool is read at start; a new client CA needs a restart.
func requireClientCerts(cfg *tls.Config, pool *x509.CertPool) *tls.Config {
	cfg = cfg.Clone()
	cfg.ClientAuth = tls.RequireAndVerifyClientCert
	cfg.ClientCAs = pool
	return cfg
}

// checkExposure refuses addresses beyond loopback on a node that does not
// authenticate its peers and encrypt gossip, unless --insecure: such a node
// can be joined, written and emptied by anyone who reaches it (as
// CockroachDB refuses to start insecure without --insecure).
func (s *securityFlags) checkExposure(sec node.Security, addrs ...string) error {
	gossipEncrypted := s.gossipKeyringPresent != nil && s.gossipKeyringPresent()
	if s.insecure || sec.PeersAuthenticated() && gossipEncrypted {
		return nil
	}
	for _, a := range addrs {
		if a == "" || isLoopback(a) {
			continue
		}
		missing := "--certs-dir and --gossip-key-file"
		switch {
		case sec.PeersAuthenticated():
			missing = "--gossip-key-file"
		case gossipEncrypted:
			missing = "--certs-dir"
		}
		return fmt.Errorf("refusing to listen on %s without security: give %s (docs/SECURITY.md), or --insecure to run open to anyone who can reach it", a, missing)
	}
	return nil
}

// isLoopback reports whether addr's host is a loopback name or address.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// keyPair is a certificate and key read from files, replaced on reload.
type keyPair struct {
	certFile, keyFile string
	cur               atomic.Pointer[tls.Certificate]
}

func (k *keyPair) reload() error {
	c, err := tls.LoadX509KeyPair(k.certFile, k.keyFile)
	if err != nil {
		// LoadX509KeyPair's errors name what is wrong, never the key.
		return fmt.Errorf("load %s: %w", k.certFile, err)
	}
	k.cur.Store(&c)
	return nil
}

func (k *keyPair) get(*tls.ClientHelloInfo) (*tls.Certificate, error) { return k.cur.Load(), nil }

// reloadOnHangup runs reload on every SIGHUP until stop is called. A failed
// reload keeps what was loaded before.
func reloadOnHangup(log *slog.Logger, reload func() error) (stop func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case <-ch:
				if err := reload(); err != nil {
					log.Error("reload on SIGHUP failed; keeping the certificates and tokens loaded before", "err", err)
					continue
				}
				log.Info("reloaded certificates and tokens on SIGHUP")
			}
		}
	}()
	return func() { signal.Stop(ch); close(done) }
}
