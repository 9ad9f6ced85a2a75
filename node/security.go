package node

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/dynkv/dynkv/security/auth"
	"github.com/dynkv/dynkv/security/pki"
)

// Security is who may talk to a node, and how (docs/SECURITY.md). Each
// part is off when zero, as on a private loopback; serve refuses to listen
// beyond loopback without the peers' parts unless told it is insecure.
type Security struct {
	// PeerTLS makes the internode listener, and this node's calls to its
	// peers, mutual TLS with node certificates of the cluster CA: a peer
	// whose certificate does not chain to the CA, is not a node
	// certificate, or (when this node dials it) names another node than
	// the member it was dialled as, is refused before any frame is read.
	// Its certificate must name this node. Reload it (SIGHUP) to rotate
	// certificates; new connections use them.
	PeerTLS *pki.Reloader
	// ClientTLS serves the client API over TLS with this configuration,
	// which may require client certificates.
	ClientTLS *tls.Config
	// Tokens requires a bearer token of the role a request needs
	// (security/auth) on every client request except the probes /livez,
	// /readyz and /healthz, and /metrics when MetricsOpen.
	Tokens      *auth.Store
	MetricsOpen bool
}

func (s Security) validate(nodeID string) []error {
	if s.PeerTLS != nil && s.PeerTLS.NodeID() != nodeID {
		return []error{fmt.Errorf("the node certificate names node %q, not this node %q: peers would refuse it", s.PeerTLS.NodeID(), nodeID)}
	}
	return nil
}

// PeersAuthenticated reports whether peers must prove who they are.
func (s Security) PeersAuthenticated() bool { return s.PeerTLS != nil }

// internodeServerTLS is the internode listener's TLS, or nil.
func (s Security) internodeServerTLS() (*tls.Config, func(tls.ConnectionState) error) {
	if s.PeerTLS == nil {
		return nil, nil
	}
	// A client certificate of the cluster CA chains too: only a node
	// certificate makes a peer.
	return s.PeerTLS.ServerConfig(true), func(cs tls.ConnectionState) error {
		_, err := pki.PeerNodeID(cs)
		return err
	}
}

// internodeClientTLS dials peers, or is nil.
func (s Security) internodeClientTLS() func(node string) *tls.Config {
	if s.PeerTLS == nil {
		return nil
	}
	return s.PeerTLS.ClientConfig
}

// clientListener is the client API's listener: TLS over lingering
// connections when ClientTLS is set. A lingering close then ends the TLS
// connection at once (the answer has been flushed; the client may see a
// reset instead of its tail) rather than after the linger.
func (s Security) clientListener(ln net.Listener) net.Listener {
	ln = lingerListener{ln}
	if s.ClientTLS != nil {
		ln = tls.NewListener(ln, s.ClientTLS)
	}
	return ln
}

// authorize wraps the client API's handler with the token check, ahead of
// admission, so that an unauthenticated request is refused before its body
// is read or any bytes are reserved for it.
func (s Security) authorize(next fasthttp.RequestHandler) fasthttp.RequestHandler {
	if s.Tokens == nil {
		return next
	}
	authz := &auth.Authorizer{Store: s.Tokens, MetricsOpen: s.MetricsOpen}
	return func(rc *fasthttp.RequestCtx) {
		path := string(rc.URI().PathOriginal())
		if i := strings.IndexByte(path, '?'); i >= 0 {
			path = path[:i] // as ServeHTTP routes it
		}
		_, err := authz.Check(string(rc.Method()), path, string(rc.Request.Header.Peek(fasthttp.HeaderAuthorization)))
		if err == nil {
			next(rc)
			return
		}
		e, ok := err.(*auth.Error)
		if !ok {
			e = &auth.Error{Status: http.StatusUnauthorized, Code: auth.CodeUnauthenticated, Message: "cannot check the token"}
		}
		if e.Status == http.StatusUnauthorized {
			rc.Response.Header.Set("WWW-Authenticate", `Bearer realm="dynkv"`)
		}
		refuse(rc, &APIError{Status: e.Status, Code: e.Code, Message: e.Message})
	}
}
