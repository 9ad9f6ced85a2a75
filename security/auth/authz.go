package auth

import (
	"fmt"
	"strings"
)

// Error is why Check refused a request, for the server to answer with.
type Error struct {
	Status  int    // 401 or 403
	Code    string // CodeUnauthenticated or CodeForbidden
	Message string // short and human; never holds the token
}

// The codes of Error, as the server's JSON errors carry them.
const (
	CodeUnauthenticated = "unauthenticated"
	CodeForbidden       = "forbidden"
)

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// The statuses of Error, spelled out here to keep net/http out of the
// package.
const (
	statusUnauthorized = 401
	statusForbidden    = 403
)

// Required returns the role a request needs, and whether it needs one at
// all. The table is in the package documentation; it follows the server's
// routes, and a route it does not know needs read for GET and HEAD and
// admin for anything else, so a new mutating route is closed by default.
func Required(method, path string, metricsOpen bool) (role Role, needed bool) {
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i] // as the server's router does
	}
	// HEAD is GET without the body: it can tell no more than GET.
	safe := method == "GET" || method == "HEAD"
	switch {
	case safe && (path == "/livez" || path == "/readyz" || path == "/healthz" || path == "/version"):
		// Probes must work for load balancers without secrets; /version
		// tells no more than a scan of the open ports would.
		return 0, false
	case safe && path == "/metrics" && metricsOpen:
		return 0, false
	case safe && (path == "/" || path == "/ui" || path == "/ui/" || strings.HasPrefix(path, "/ui/assets/")):
		// The dashboard's page and assets hold no cluster data, and a
		// browser's first navigation cannot send a bearer token: the page
		// asks for one and sends it with its data requests (/ui/status).
		return 0, false
	case under(path, "/cluster/leave"), under(path, "/cluster/remove"),
		under(path, "/admin"), under(path, "/ui"), under(path, "/internal"):
		return RoleAdmin, true
	case isKeyRoute(path):
		switch {
		case safe:
			return RoleRead, true
		case method == "PUT" || method == "POST" || method == "DELETE":
			return RoleWrite, true
		}
		return RoleAdmin, true
	case safe:
		return RoleRead, true
	}
	return RoleAdmin, true
}

// isKeyRoute reports whether path is a key's route, /kv/{key} or
// /buckets/{bucket}/kv/{key}, split as the server's router splits it (the
// bucket is the segment after /buckets/, whatever it holds), so that a
// write token writes keys in every bucket and nothing else.
func isKeyRoute(path string) bool {
	if strings.HasPrefix(path, "/kv/") {
		return true
	}
	rest, ok := strings.CutPrefix(path, "/buckets/")
	if !ok {
		return false
	}
	_, sub, _ := strings.Cut(rest, "/")
	return strings.HasPrefix(sub, "kv/")
}

// under reports whether path is prefix or below it.
func under(path, prefix string) bool {
	rest, ok := strings.CutPrefix(path, prefix)
	return ok && (rest == "" || rest[0] == '/')
}

// Authorizer checks client requests against a Store.
type Authorizer struct {
	Store       *Store
	MetricsOpen bool // GET /metrics needs no token
}

// Check returns nil when the request may go on, with the name of the
// token's principal when it needed one. Otherwise it returns an *Error:
// 401 when the Authorization header is missing, is not "Bearer <token>" or
// names an unknown token; 403, with the principal, when the token's role
// is below the one the request needs.
func (a *Authorizer) Check(method, path, authorization string) (principal string, err error) {
	need, needed := Required(method, path, a.MetricsOpen)
	if !needed {
		return "", nil
	}
	token, ok := bearer(authorization)
	if !ok {
		return "", &Error{Status: statusUnauthorized, Code: CodeUnauthenticated,
			Message: "this request needs a token: send the header Authorization: Bearer <token>"}
	}
	name, role, found := a.Store.Lookup(token)
	if !found {
		return "", &Error{Status: statusUnauthorized, Code: CodeUnauthenticated,
			Message: "unknown or revoked token"}
	}
	if role < need {
		return name, &Error{Status: statusForbidden, Code: CodeForbidden,
			Message: fmt.Sprintf("this request needs the %s role; token %s has %s", need, name, role)}
	}
	return name, nil
}

// bearer takes the token out of "Bearer <token>": the scheme in any case
// (RFC 9110 §11.1), one space, and a well-formed token.
func bearer(header string) (string, bool) {
	const scheme = "Bearer "
	if len(header) < len(scheme) || !strings.EqualFold(header[:len(scheme)], scheme) {
		return "", false
	}
	token := header[len(scheme):]
	return token, wellFormed(token)
}
