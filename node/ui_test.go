package node

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/dynkv/dynkv/security/auth"
)

// TestUIRoutes: the dashboard's page and assets are served from the
// binary with a same-origin policy, / sends a browser to it, /ui/status is
// the cluster's status, and nothing else under /ui is served.
func TestUIRoutes(t *testing.T) {
	c := startCluster(t, LocalClusterOptions{Nodes: 1, HTTP: true})
	addr := c.Addr(0)
	for path, want := range map[string]string{
		"/ui": "text/html", "/ui/": "text/html", "/ui/assets/app.js": "text/javascript", "/ui/assets/app.css": "text/css",
	} {
		r := do(t, "GET", addr, path, nil)
		if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), want) ||
			!strings.Contains(r.header.Get("Content-Security-Policy"), "default-src 'none'") || len(r.body) == 0 {
			t.Errorf("GET %s: %d %v", path, r.status, r.header)
		}
	}
	if r := do(t, "GET", addr, "/ui", nil); !strings.Contains(string(r.body), `src="/ui/assets/app.js"`) {
		t.Errorf("the page does not load its script:\n%s", r.body)
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if resp, err := noFollow.Get("http://" + addr + "/"); err != nil || resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/ui" {
		t.Errorf("GET /: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	var st ClusterStatus
	if r := do(t, "GET", addr, "/ui/status", nil); r.status != http.StatusOK || json.Unmarshal(r.body, &st) != nil || len(st.Members) != 1 {
		t.Errorf("GET /ui/status: %d %s", r.status, r.body)
	}
	for _, path := range []string{"/ui/assets/index.htm", "/ui/assets/../ui.go", "/ui/assets/ui/app.js", "/ui/assets/", "/ui/other", "/uix"} {
		if r := do(t, "GET", addr, path, nil); r.status != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, r.status)
		}
	}
	if r := do(t, "POST", addr, "/ui", nil); r.status != http.StatusMethodNotAllowed {
		t.Errorf("POST /ui: %d", r.status)
	}
}

// TestUISecured: with tokens on, the page loads without one, and its data
// needs an admin token.
func TestUISecured(t *testing.T) {
	c, tokens := startSecureCluster(t)
	addr := c.Addr(0)
	if r := do(t, "GET", addr, "/ui", nil); r.status != http.StatusOK {
		t.Errorf("GET /ui without a token: %d", r.status)
	}
	if r := do(t, "GET", addr, "/ui/status", nil); r.status != http.StatusUnauthorized {
		t.Errorf("GET /ui/status without a token: %d", r.status)
	}
	if r := do(t, "GET", addr, "/ui/status", nil, bearer(tokens[auth.RoleRead])...); r.status != http.StatusForbidden {
		t.Errorf("GET /ui/status as read: %d", r.status)
	}
	var st ClusterStatus
	r := do(t, "GET", addr, "/ui/status", nil, bearer(tokens[auth.RoleAdmin])...)
	if r.status != http.StatusOK || json.Unmarshal(r.body, &st) != nil || len(st.Members) != 3 {
		t.Fatalf("GET /ui/status as admin: %d %s", r.status, r.body)
	}
	for _, m := range st.Members { // over mutual TLS
		if !m.Reachable {
			t.Errorf("%s unreachable over the secured transport: %s", m.ID, m.Error)
		}
	}
}
