package client

// Clients of a secured cluster: TLS to the nodes' client API, and the
// bearer token a node may require of every request.

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"

	"github.com/dynkv/dynkv/security/pki"
)

// WithTLS speaks TLS to every endpoint with a clone of cfg (LoadTLSConfig
// builds one from PEM files); a bare host:port endpoint then means https,
// and a plain http:// one is refused. It cannot be combined with
// WithTransport, whose RoundTripper owns its own TLS settings.
func WithTLS(cfg *tls.Config) Option {
	return func(c *Client) error {
		if cfg == nil {
			return errors.New("WithTLS: nil *tls.Config")
		}
		c.tls = cfg.Clone()
		return nil
	}
}

// WithToken sends "Authorization: Bearer <token>" with every request,
// readiness probes included. The token appears in no error or other output
// of the client. Without WithTLS it travels in the clear: use it so only on
// a trusted network.
func WithToken(token string) Option {
	return func(c *Client) error {
		if err := ValidateToken(token); err != nil {
			return fmt.Errorf("WithToken: %w", err)
		}
		c.auth = []string{"Bearer " + token}
		return nil
	}
}

// ValidateToken reports why token cannot be sent as a bearer token: it is
// empty, or holds a byte that is not visible ASCII (white space, a control
// character) and would end or split the header. The error never contains
// the token.
func ValidateToken(token string) error {
	if token == "" {
		return errors.New("empty token")
	}
	for i := 0; i < len(token); i++ {
		if b := token[i]; b <= ' ' || b >= 0x7f {
			return fmt.Errorf("the token has white space, a control character or a non-ASCII byte at byte %d", i+1)
		}
	}
	return nil
}

// LoadTLSConfig reads the configuration of a client of a dynkv cluster:
// caFile, a PEM file with the cluster's CA certificate (or several while it
// is rotated), is the only trust root and is required; certFile and keyFile
// are a client certificate and its key for nodes that require one, both or
// neither. TLS 1.2 is the minimum (nodes speak 1.3).
func LoadTLSConfig(caFile, certFile, keyFile string) (*tls.Config, error) {
	if caFile == "" {
		return nil, errors.New("load TLS config: no CA file: the cluster's CA certificate is needed to trust its nodes")
	}
	if (certFile == "") != (keyFile == "") {
		return nil, errors.New("load TLS config: give a client certificate and its key together, or neither")
	}
	pool, err := pki.LoadCAPool(caFile)
	if err != nil {
		return nil, fmt.Errorf("load TLS config: %w", err)
	}
	cfg := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	if certFile != "" {
		pair, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("load TLS config: client certificate %s, key %s: %w", certFile, keyFile, err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

// useTLS puts WithTLS's config on the client's own transport. Its
// connections are still dialed through dialChecked: the stale-connection
// check peeks under TLS, where a node's close_notify, like its FIN, is data
// nobody asked for.
func (c *Client) useTLS() error {
	if c.tls == nil {
		return nil
	}
	if c.ownRT == nil {
		return errors.New("WithTLS and WithTransport together: set TLS on the RoundTripper given to WithTransport")
	}
	c.ownRT.TLSClientConfig = c.tls
	return nil
}

// refusedByTLS reports whether err is a TLS handshake failure: this client
// refused the node's certificate, or the node refused the client (with
// TLS 1.3 a missing client certificate is refused only after the client
// sent its request, which the node's TLS layer then dropped). Either way
// the node did not act on the request.
func refusedByTLS(err error) bool {
	var cv *tls.CertificateVerificationError
	if errors.As(err, &cv) {
		return true
	}
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "remote error"
}

// TokenTransport wraps next so that every request carries "Authorization:
// Bearer <token>", for callers of routes the Client has no method for (an
// operator's own http.Client against /admin/local, say). The token is
// checked as WithToken checks it.
func TokenTransport(token string, next http.RoundTripper) (http.RoundTripper, error) {
	if err := ValidateToken(token); err != nil {
		return nil, err
	}
	return bearerTransport{header: "Bearer " + token, next: next}, nil
}

type bearerTransport struct {
	header string
	next   http.RoundTripper
}

func (b bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context()) // a RoundTripper must not change the caller's request
	r.Header.Set("Authorization", b.header)
	return b.next.RoundTrip(r)
}
