package node

import (
	"embed"
	"net/http"
	"path"
	"strings"

	"github.com/valyala/fasthttp"
)

// The dashboard, /ui: a page and its script and style, embedded in the
// binary (no build step, nothing fetched from elsewhere), that poll
// /ui/status, the cluster's status (cluster_status.go) as GET
// /cluster/status serves it. The page and its assets hold no cluster data,
// so they are served without a token, as the UI of Consul is: a browser's
// first navigation cannot send a bearer token. The data is behind the
// admin role (security/auth), and the page sends the token the operator
// pastes into it (kept in the tab's sessionStorage) as Authorization:
// Bearer.

//go:embed ui/index.html ui/app.js ui/app.css
var uiFiles embed.FS

// uiHeaders keep the page to its own origin: nothing loads from elsewhere,
// and no other site may frame it.
func uiHeaders(rc *fasthttp.RequestCtx) {
	h := &rc.Response.Header
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; "+
		"connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-cache")
}

var uiContentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
}

// serveUI routes /ui, /ui/assets/... and /ui/status.
func (n *Node) serveUI(rc *fasthttp.RequestCtx, method, p string) {
	if !allow(rc, method, fasthttp.MethodGet, fasthttp.MethodHead) {
		return
	}
	switch {
	case p == "/ui" || p == "/ui/":
		n.serveUIFile(rc, "index.html")
	case p == "/ui/status":
		n.serveStatus(rc)
	case strings.HasPrefix(p, "/ui/assets/"):
		n.serveUIFile(rc, p[len("/ui/assets/"):])
	default:
		notFound(rc, p)
	}
}

func (n *Node) serveUIFile(rc *fasthttp.RequestCtx, name string) {
	ctype, known := uiContentTypes[path.Ext(name)]
	body, err := uiFiles.ReadFile("ui/" + name)
	if !known || strings.Contains(name, "/") || err != nil {
		notFound(rc, string(rc.URI().PathOriginal()))
		return
	}
	uiHeaders(rc)
	rc.SetContentType(ctype)
	rc.SetStatusCode(http.StatusOK)
	rc.SetBody(body)
}

// serveRoot sends a browser that asks for the node itself to the
// dashboard.
func serveRoot(rc *fasthttp.RequestCtx, method string) {
	if allow(rc, method, fasthttp.MethodGet, fasthttp.MethodHead) {
		rc.Response.Header.Set("Location", "/ui")
		rc.SetStatusCode(http.StatusFound)
	}
}
