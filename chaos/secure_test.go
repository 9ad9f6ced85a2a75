//go:build chaos

package chaos

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dynkv/dynkv/client"
	"github.com/dynkv/dynkv/security/pki"
)

// The suite runs the cluster secured (deploy/docker-compose.secure.yml):
// mutual TLS between the nodes, encrypted gossip, and TLS with an admin
// token for every client request the suite makes.

// secureFiles are the Compose files that secure the suite's cluster, on
// top of the plain ones.
var secureFiles = []string{"../deploy/docker-compose.secure.yml", "testdata/extra-node.secure.yml"}

// makeSecrets runs the init container that makes the cluster's CA,
// certificates, keyrings and admin token, copies the CA certificate and
// the token out of it, and makes every request of c carry them.
func (c *cluster) makeSecrets(ctx context.Context) error {
	name := c.project + "-certs"
	if _, err := c.composeCmd(ctx, "run", "--name", name, "certs"); err != nil {
		return fmt.Errorf("make the cluster's certificates: %w", err)
	}
	dir, err := os.MkdirTemp("", "dynkv-chaos-secure-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	for _, f := range []string{"ca.crt", "admin.token"} {
		if _, err := c.docker(ctx, "cp", name+":/secure/"+f, filepath.Join(dir, f)); err != nil {
			return err
		}
	}
	token, err := os.ReadFile(filepath.Join(dir, "admin.token"))
	if err != nil {
		return err
	}
	pool, err := pki.LoadCAPool(filepath.Join(dir, "ca.crt"))
	if err != nil {
		return err
	}
	c.token = strings.TrimSpace(string(token))
	c.clientTLS = chainOnlyTLS(pool)
	c.scheme = "https"
	rt, err := client.TokenTransport(c.token, &http.Transport{
		MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second, TLSClientConfig: c.clientTLS,
	})
	if err != nil {
		return fmt.Errorf("the cluster's admin token: %w", err)
	}
	c.http = &http.Client{Timeout: 5 * time.Second, Transport: rt}
	return nil
}

// chainOnlyTLS trusts certificates pool signed, whatever address they are
// reached at: the suite dials nodes at their container addresses, which
// their certificates (made before the containers had addresses) do not
// name.
func chainOnlyTLS(pool *x509.CertPool) *tls.Config {
	return &tls.Config{
		InsecureSkipVerify: true, // the chain is checked below; only the name is not
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return fmt.Errorf("no server certificate")
			}
			inter := x509.NewCertPool()
			for _, c := range cs.PeerCertificates[1:] {
				inter.AddCert(c)
			}
			_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter})
			return err
		},
	}
}
