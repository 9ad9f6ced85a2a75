package node

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/dynkv/dynkv/bucket"
	"github.com/dynkv/dynkv/docs"
	"github.com/dynkv/dynkv/node/coordinator"
	"github.com/dynkv/dynkv/vclock"
)

// The client HTTP API of docs/API.md. Handlers are thin: they parse and
// validate, call the coordinator, and render. Nothing from the fasthttp
// request outlives the handler: keys and values are copied before any
// goroutine may see them.

// HeaderContext carries the opaque causal context both ways.
const HeaderContext = "X-Causal-Context"

// HeaderServedBy names the node that coordinated the request.
const HeaderServedBy = "X-Dynkv-Node"

const defaultContentType = "application/octet-stream"

func (n *Node) newHTTPServer() *fasthttp.Server {
	n.admit = newAdmission(n.cfg, n.ServeHTTP)
	return &fasthttp.Server{
		// Bodies are streamed and read by admission (admission.go) only
		// once they fit; the read buffer bounds request headers.
		Handler:            n.conns.wrap(n.cfg.Security.authorize(n.admit.serve)),
		StreamRequestBody:  true,
		ReadBufferSize:     readBufferSize,
		Name:               "dynkv",
		MaxRequestBodySize: n.cfg.MaxInternodeBytes,
		ReadTimeout:        n.cfg.RequestTimeout + 5*time.Second,
		WriteTimeout:       n.cfg.RequestTimeout + 5*time.Second,
		IdleTimeout:        n.cfg.ServerIdleTimeout,
		// Keys are raw bytes: never let the server rewrite the path.
		DisablePreParseMultipartForm: true,
		NoDefaultContentType:         true,
		CloseOnShutdown:              true,
		Logger:                       fasthttpLogger{n.log},
		ConnState:                    n.conns.observe,
		ErrorHandler:                 n.admit.serverError,
	}
}

type fasthttpLogger struct {
	l interface{ Warn(string, ...any) }
}

func (f fasthttpLogger) Printf(format string, args ...any) {
	f.l.Warn(fmt.Sprintf(format, args...), "component", "http")
}

// ServeHTTP routes one request. It is exported so tests can drive the API
// without sockets.
func (n *Node) ServeHTTP(rc *fasthttp.RequestCtx) {
	defer func() {
		// A bug in one handler must not take the node down.
		if p := recover(); p != nil {
			n.log.Error("handler panic", "panic", p, "path", string(rc.URI().PathOriginal()))
			writeError(rc, &APIError{Status: http.StatusInternalServerError, Code: CodeInternal, Message: "internal error"})
		}
	}()
	path := string(rc.URI().PathOriginal())
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	method := string(rc.Method())
	if !rc.Request.Header.IsHTTP11() && string(rc.Request.Header.Protocol()) != "HTTP/1.0" {
		rc.SetConnectionClose()
		writeError(rc, &APIError{Status: http.StatusHTTPVersionNotSupported, Code: "http_version_not_supported",
			Message: fmt.Sprintf("%s is not spoken here; use HTTP/1.1", rc.Request.Header.Protocol())})
		return
	}
	switch {
	case path == "/kv":
		n.serveList(rc, method, bucket.Default)
	case strings.HasPrefix(path, "/kv/"):
		n.serveKV(rc, method, bucket.Default, path[len("/kv/"):])
	case path == "/buckets" || strings.HasPrefix(path, "/buckets/"):
		n.serveBuckets(rc, method, path)
	case strings.HasPrefix(path, "/admin/set/"):
		n.serveAdminSet(rc, method, path[len("/admin/set/"):])
	case strings.HasPrefix(path, "/admin/keyring"):
		n.serveKeyring(rc, method, path)
	case strings.HasPrefix(path, "/admin/local/"):
		if allow(rc, method, fasthttp.MethodGet) {
			n.serveAdminLocal(rc, path[len("/admin/local/"):])
		}
	case strings.HasPrefix(path, "/cluster/"):
		n.serveCluster(rc, method, path)
	case path == "/ui" || strings.HasPrefix(path, "/ui/"):
		n.serveUI(rc, method, path)
	case path == "/":
		serveRoot(rc, method)
	default:
		n.serveProbe(rc, method, path)
	}
}

// serveProbe answers health checks, metrics and the API's description.
func (n *Node) serveProbe(rc *fasthttp.RequestCtx, method, path string) {
	switch path {
	case "/healthz", "/readyz":
		if allow(rc, method, fasthttp.MethodGet, fasthttp.MethodHead) {
			n.serveHealth(rc)
		}
	case "/livez":
		// Liveness: the process serves HTTP, also while it drains. A
		// supervisor restarting on failed readiness would kill a node
		// that is merely shutting down gracefully.
		if allow(rc, method, fasthttp.MethodGet, fasthttp.MethodHead) {
			writeJSON(rc, http.StatusOK, map[string]any{"status": "alive", "node": n.cfg.NodeID, "draining": n.closing.Load()})
		}
	case "/version":
		if allow(rc, method, fasthttp.MethodGet, fasthttp.MethodHead) {
			n.serveVersion(rc)
		}
	case "/metrics":
		if allow(rc, method, fasthttp.MethodGet) {
			n.serveMetrics(rc)
		}
	case "/openapi.json":
		// docs/openapi.json. On a secured node it needs a token of any
		// role, as every GET does (security/auth): it tells nothing a
		// client with a token could not learn, and a probe need not read it.
		if allow(rc, method, fasthttp.MethodGet) {
			rc.SetContentType("application/json")
			rc.SetBody(docs.OpenAPI)
		}
	default:
		notFound(rc, path)
	}
}

func notFound(rc *fasthttp.RequestCtx, path string) {
	writeError(rc, &APIError{Status: http.StatusNotFound, Code: CodeUnknownRoute, Message: fmt.Sprintf("no route for %s", path)})
}

func allow(rc *fasthttp.RequestCtx, method string, allowed ...string) bool {
	for _, a := range allowed {
		if method == a {
			return true
		}
	}
	rc.Response.Header.Set("Allow", strings.Join(allowed, ", "))
	writeError(rc, &APIError{Status: http.StatusMethodNotAllowed, Code: CodeMethodNotAllowed,
		Message: fmt.Sprintf("%s is not allowed here; use %s", method, strings.Join(allowed, " or "))})
	return false
}

// parseKey decodes a percent-encoded client key from the path: 1 to
// bucket.MaxKeyLen bytes, not starting with NUL (which marks the internal
// keys of named buckets: bucket.CheckKey).
func parseKey(raw string) ([]byte, *APIError) {
	key, err := url.PathUnescape(raw)
	if err != nil {
		return nil, badRequest(CodeBadKey, "key is not validly percent-encoded: %v", err)
	}
	if err := bucket.CheckKey([]byte(key)); err != nil {
		return nil, badRequest(CodeBadKey, "%v", err)
	}
	return []byte(key), nil
}

// parseQuorum reads ?r= or ?w= for a bucket of n replicas: 1..n, one,
// quorum or all (coordinator.ParseQuorum); 0 means the bucket's default.
func parseQuorum(rc *fasthttp.RequestCtx, name string, n int) (int, *APIError) {
	args := rc.QueryArgs()
	raw := args.Peek(name)
	if raw == nil {
		return 0, nil
	}
	if len(args.PeekMulti(name)) > 1 {
		// Proxies and servers disagree on which of several values wins;
		// a quorum the client did not mean must not be applied.
		return 0, badRequest(CodeBadQuorum, "%s given more than once", name)
	}
	q, err := coordinator.ParseQuorum(string(raw), n)
	if err != nil {
		return 0, badRequest(CodeBadQuorum, "%s=%v", name, err)
	}
	return q, nil
}

// parseContext reads the context of a write to key. Counters are per key,
// so a context read from another key would supersede whatever here carries
// the same dots: tokens are bound to their key (vclock.TokenFor).
func parseContext(rc *fasthttp.RequestCtx, key []byte) (vclock.Context, *APIError) {
	raw := rc.Request.Header.Peek(HeaderContext)
	c, err := vclock.ParseTokenFor(strings.TrimSpace(string(raw)), key)
	if errors.Is(err, vclock.ErrWrongKey) {
		return vclock.Context{}, badRequest(CodeContextMismatch, "%s header: the context was issued for another key; read this key and write with its context", HeaderContext)
	}
	if err != nil {
		return vclock.Context{}, badRequest(CodeBadContext, "%s header: %v", HeaderContext, err)
	}
	return c, nil
}

// serveKV serves /kv/{key} and /buckets/{name}/kv/{key} (name checked
// by the router). Below it everything sees the internal key; the client
// sees its own key and a context token bound to the internal one, so a
// context read in one bucket is refused in another (context_mismatch).
func (n *Node) serveKV(rc *fasthttp.RequestCtx, method, name, rawKey string) {
	start := time.Now()
	op := strings.ToLower(method)
	defer func() {
		n.metrics.requests.WithLabelValues(op, strconv.Itoa(rc.Response.StatusCode())).Inc()
		took := time.Since(start)
		n.metrics.requestDuration.WithLabelValues(op).Observe(took.Seconds())
		n.ops.observe(op, took)
	}()
	if !allow(rc, method, fasthttp.MethodGet, fasthttp.MethodPut, fasthttp.MethodDelete) {
		return
	}
	rc.Response.Header.Set(HeaderServedBy, n.cfg.NodeID)
	key, apiErr := parseKey(rawKey)
	if apiErr != nil {
		writeError(rc, apiErr)
		return
	}
	if n.closing.Load() {
		writeError(rc, shuttingDownAPI())
		return
	}
	props := n.bucketTable().Props(name)
	ikey := bucket.Key(name, key)
	if method == fasthttp.MethodGet {
		r, apiErr := parseQuorum(rc, "r", props.N)
		if apiErr != nil {
			writeError(rc, apiErr)
			return
		}
		res, err := n.Get(context.Background(), ikey, r)
		if err != nil {
			writeError(rc, err)
			return
		}
		n.renderRead(rc, ikey, res.Set)
		return
	}
	req, apiErr := n.parseWrite(rc, method, ikey, props)
	if apiErr != nil {
		writeError(rc, apiErr)
		return
	}
	res, err := n.Put(context.Background(), req)
	if err != nil {
		writeError(rc, err)
		return
	}
	rc.Response.Header.Set(HeaderContext, res.Context.TokenFor(ikey))
	rc.SetStatusCode(http.StatusNoContent)
}

// parseWrite reads a PUT or DELETE of internal key ikey in a bucket with
// props: its quorum, context, TTL and value. A value over the bucket's cap
// is refused here, before anything is sent (413).
func (n *Node) parseWrite(rc *fasthttp.RequestCtx, method string, ikey []byte, props bucket.Props) (WriteRequest, *APIError) {
	w, apiErr := parseQuorum(rc, "w", props.N)
	if apiErr != nil {
		return WriteRequest{}, apiErr
	}
	cctx, apiErr := parseContext(rc, ikey)
	if apiErr != nil {
		return WriteRequest{}, apiErr
	}
	req := WriteRequest{Key: ikey, Context: cctx, W: w, Delete: method == fasthttp.MethodDelete}
	if req.TTL, apiErr = parseTTL(rc, req.Delete); apiErr != nil {
		return WriteRequest{}, apiErr
	}
	if req.Delete {
		return req, nil
	}
	if body := rc.PostBody(); len(body) > props.MaxValueBytes {
		return WriteRequest{}, &APIError{Status: http.StatusRequestEntityTooLarge, Code: CodeValueTooLarge,
			Message: fmt.Sprintf("value of %d bytes exceeds the bucket's limit of %d", len(body), props.MaxValueBytes)}
	}
	// Not fasthttp's: replication goroutines outlive this handler.
	req.Value = ownedBody(rc)
	req.ContentType = string(rc.Request.Header.ContentType())
	if req.ContentType == "" {
		req.ContentType = defaultContentType
	}
	return req, nil
}

// siblingJSON is one sibling in the JSON read form.
type siblingJSON struct {
	Value       string `json:"value"` // base64 (standard, padded)
	ContentType string `json:"content_type"`
	Modified    string `json:"modified,omitempty"`
	// Expires is when the value stops being readable, for a write with a
	// TTL.
	Expires string `json:"expires,omitempty"`
}

// expiredOnly reports whether a set with nothing readable holds an expired
// value (rather than only tombstones), to say which in the 404.
func expiredOnly(s vclock.Set) bool {
	for _, sib := range s.Siblings {
		if !sib.Deleted && sib.Expires != 0 {
			return true
		}
	}
	return false
}

func formatExpiry(ms int64) string {
	if ms == 0 {
		return ""
	}
	return time.UnixMilli(ms).UTC().Format(time.RFC3339Nano)
}

type readJSON struct {
	Siblings []siblingJSON `json:"siblings"`
	Context  string        `json:"context,omitempty"`
}

// renderRead answers a read of internal key ikey; its context token is
// bound to ikey.
func (n *Node) renderRead(rc *fasthttp.RequestCtx, ikey []byte, s vclock.Set) {
	live := s.Live(n.cfg.Clock().UnixMilli())
	n.metrics.siblingsRead.Observe(float64(len(live)))
	token := s.Context.TokenFor(ikey)
	if token != "" {
		rc.Response.Header.Set(HeaderContext, token)
	}
	wantJSON := strings.Contains(string(rc.Request.Header.Peek("Accept")), "application/json")
	if len(live) == 0 {
		e := &APIError{Status: http.StatusNotFound, Code: CodeNotFound, Message: "key not found"}
		if s.IsZero() {
			writeError(rc, e)
			return
		}
		e.Message = "key deleted"
		if expiredOnly(s) {
			e.Message = "key expired"
		}
		writeErrorWith(rc, e, map[string]any{"context": token})
		return
	}
	if len(live) == 1 && !wantJSON {
		rc.SetStatusCode(http.StatusOK)
		rc.SetContentType(live[0].ContentType)
		rc.SetBody(live[0].Value)
		return
	}
	body := readJSON{Siblings: make([]siblingJSON, len(live))}
	for i, sib := range live {
		body.Siblings[i] = siblingJSON{
			Value:       base64.StdEncoding.EncodeToString(sib.Value),
			ContentType: sib.ContentType,
			Modified:    time.UnixMilli(sib.Modified).UTC().Format(time.RFC3339Nano),
			Expires:     formatExpiry(sib.Expires),
		}
	}
	if wantJSON {
		body.Context = token
	}
	status := http.StatusOK
	if len(live) > 1 {
		status = http.StatusMultipleChoices
	}
	writeJSON(rc, status, body)
}

func (n *Node) serveHealth(rc *fasthttp.RequestCtx) {
	if n.closing.Load() {
		writeError(rc, shuttingDownAPI())
		return
	}
	if err := n.notReady(); err != nil {
		writeErrorWith(rc, err, map[string]any{"node": n.cfg.NodeID})
		return
	}
	writeJSON(rc, http.StatusOK, map[string]any{"status": "ok", "node": n.cfg.NodeID, "actor": n.replica.Actor(), "disk": n.healthDisk()})
}

func (n *Node) serveMetrics(rc *fasthttp.RequestCtx) {
	b, err := n.metrics.exposition()
	if err != nil {
		writeError(rc, fmt.Errorf("gather metrics: %w", err))
		return
	}
	rc.SetContentType("text/plain; version=0.0.4; charset=utf-8")
	rc.SetBody(b)
}

func writeJSON(rc *fasthttp.RequestCtx, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"cannot encode response","code":"internal"}`)
	}
	rc.SetStatusCode(status)
	rc.SetContentType("application/json")
	rc.SetBody(append(b, '\n'))
}

func writeError(rc *fasthttp.RequestCtx, err error) { writeErrorWith(rc, err, nil) }

func writeErrorWith(rc *fasthttp.RequestCtx, err error, extra map[string]any) {
	var e *APIError
	if !errors.As(err, &e) {
		e = &APIError{Status: http.StatusInternalServerError, Code: CodeInternal, Message: err.Error()}
	}
	body := map[string]any{"error": e.Message, "code": e.Code}
	if e.Code == CodeQuorumUnavailable || e.Code == CodeTimeout {
		body["acks"], body["required"] = e.Acks, e.Required
	}
	for k, v := range extra {
		body[k] = v
	}
	writeJSON(rc, e.Status, body)
}
