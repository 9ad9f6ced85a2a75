package auth

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// requirement is what Required answers: the role a request needs, and
// whether it needs a token at all.
type requirement struct {
	role   Role
	needed bool
}

var (
	needNothing = requirement{0, false}
	needRead    = requirement{RoleRead, true}
	needWrite   = requirement{RoleWrite, true}
	needAdmin   = requirement{RoleAdmin, true}
)

// requiredCase is one request and what Required must answer for it.
type requiredCase struct {
	method, path string
	metricsOpen  bool
	want         requirement
}

func TestRequired(t *testing.T) {
	cases := slices.Concat(healthRequiredCases(), dataRequiredCases(), clusterRequiredCases())
	for _, tc := range cases {
		role, needed := Required(tc.method, tc.path, tc.metricsOpen)
		if (requirement{role, needed}) != tc.want {
			t.Errorf("Required(%s %s, metricsOpen=%v) = %v %v, want %v %v",
				tc.method, tc.path, tc.metricsOpen, role, needed, tc.want.role, tc.want.needed)
		}
	}
}

// healthRequiredCases are the probes, /version and /metrics.
func healthRequiredCases() []requiredCase {
	return []requiredCase{
		{"GET", "/livez", false, needNothing},
		{"HEAD", "/readyz", false, needNothing},
		{"GET", "/healthz", false, needNothing},
		{"GET", "/healthz?verbose=1", false, needNothing},
		{"GET", "/version", false, needNothing},
		{"POST", "/version", false, needAdmin},
		{"POST", "/healthz", false, needAdmin},
		{"GET", "/metrics", true, needNothing},
		{"GET", "/metrics", false, needRead},
		{"POST", "/metrics", true, needAdmin},
	}
}

// dataRequiredCases are the key and bucket routes, and paths that imitate them.
func dataRequiredCases() []requiredCase {
	return []requiredCase{
		{"GET", "/kv/a", false, needRead},
		{"HEAD", "/kv/a", false, needRead},
		{"PUT", "/kv/a", false, needWrite},
		{"POST", "/kv/a", false, needWrite},
		{"DELETE", "/kv/a?w=all", false, needWrite},
		{"PATCH", "/kv/a", false, needAdmin},
		{"GET", "/buckets/carts/kv/a", false, needRead},
		{"PUT", "/buckets/carts/kv/a", false, needWrite},
		{"DELETE", "/buckets/carts/kv/a/b?w=1", false, needWrite},
		{"PATCH", "/buckets/carts/kv/a", false, needAdmin},
		{"GET", "/buckets/carts/kv", false, needRead},
		{"PUT", "/buckets/carts/kv", false, needAdmin}, // no key: not a key route
		{"GET", "/buckets", false, needRead},
		{"GET", "/buckets/carts/props", false, needRead},
		{"PUT", "/buckets/carts/props", false, needAdmin},
		{"PUT", "/buckets/carts/propskv/a", false, needAdmin},
		{"PUT", "/buckets/kv/a", false, needAdmin},       // bucket "kv", route "a"
		{"GET", "/kv/../cluster/leave", false, needRead}, // the router serves this as key "../cluster/leave"
		{"GET", "/buckets/b/kv/a", false, needRead},
		{"HEAD", "/buckets/b/kv/a", false, needRead},
		{"PUT", "/buckets/b/kv/a", false, needWrite},
		{"POST", "/buckets/b/kv/a?w=2", false, needWrite},
		{"DELETE", "/buckets/b/kv/a", false, needWrite},
		{"PATCH", "/buckets/b/kv/a", false, needAdmin},
		{"GET", "/buckets/b/kv", false, needRead},
		{"PUT", "/buckets/b/kv", false, needAdmin},
		{"GET", "/buckets", false, needRead},
		{"GET", "/buckets/b/props", false, needRead},
		{"PUT", "/buckets/b/props", false, needAdmin},
		{"POST", "/buckets/b/props", false, needAdmin},
		// The router serves these as the key "../props" of bucket b: write.
		{"PUT", "/buckets/b/kv/../props", false, needWrite},
		{"PUT", "/buckets/b/kv/%2e%2e/props", false, needWrite},
		// These it refuses (a bad bucket name, an unknown route): the
		// default rule, at least as strict as any route they could reach.
		{"PUT", "/buckets/../kv/a", false, needAdmin},
		{"PUT", "/buckets/B/kv/a", false, needAdmin},
		{"PUT", "/buckets//kv/a", false, needAdmin},
		{"PUT", "/buckets/b/props/../kv/a", false, needAdmin},
		{"PUT", "/buckets/b/kvx/a", false, needAdmin},
		{"PUT", "/buckets/b%2Fkv/a", false, needAdmin},
	}
}

// clusterRequiredCases are the cluster, admin, UI and internal routes, and
// requests no route serves.
func clusterRequiredCases() []requiredCase {
	return []requiredCase{
		{"GET", "/cluster/members", false, needRead},
		{"GET", "/cluster/ring?key=k", false, needRead},
		{"GET", "/cluster/status", false, needRead},
		{"GET", "/cluster/handoffs", false, needRead},
		{"GET", "/openapi.json", false, needRead},
		{"POST", "/cluster/leave", false, needAdmin},
		{"GET", "/cluster/leave", false, needAdmin},
		{"POST", "/cluster/remove/n3", false, needAdmin},
		{"GET", "/admin/local/k", false, needAdmin},
		{"GET", "/admin", false, needAdmin},
		{"GET", "/", false, needNothing},
		{"POST", "/", false, needAdmin},
		{"GET", "/ui", false, needNothing},
		{"GET", "/ui/", false, needNothing},
		{"HEAD", "/ui/assets/app.js", false, needNothing},
		{"POST", "/ui", false, needAdmin},
		{"GET", "/ui/status", false, needAdmin},
		{"GET", "/ui/status?scope=local", false, needAdmin},
		{"GET", "/ui/app.js", false, needAdmin},
		{"GET", "/ui/assetsx", false, needAdmin},
		{"POST", "/internal/v1/write", false, needAdmin},
		{"GET", "/unknown", false, needRead},
		{"POST", "/unknown", false, needAdmin},
		{"OPTIONS", "/kv/a", false, needAdmin},
		{"get", "/kv/a", false, needAdmin}, // methods are case-sensitive, as the router's are
		{"GET", "/uix", false, needRead},
	}
}

// authorizer returns an Authorizer over tokens of each role.
func authorizer(t *testing.T) (a *Authorizer, read, write, admin string) {
	t.Helper()
	read, write, admin = mustToken(t), mustToken(t), mustToken(t)
	path := filepath.Join(t.TempDir(), "tokens")
	writeFile(t, path,
		Entry{Name: "reader", Role: RoleRead, Hash: HashToken(read)},
		Entry{Name: "writer", Role: RoleWrite, Hash: HashToken(write)},
		Entry{Name: "root", Role: RoleAdmin, Hash: HashToken(admin)})
	s, err := OpenStore(path)
	if err != nil {
		t.Fatal(err)
	}
	return &Authorizer{Store: s}, read, write, admin
}

// wantAuthError checks err is an *Error with status and code, and that it
// does not hold token.
func wantAuthError(t *testing.T, err error, status int, code, token string) {
	t.Helper()
	var ae *Error
	if !errors.As(err, &ae) {
		t.Fatalf("error %v, want an *Error", err)
	}
	if ae.Status != status || ae.Code != code {
		t.Errorf("got %d %s (%s), want %d %s", ae.Status, ae.Code, ae.Message, status, code)
	}
	if token != "" && (strings.Contains(ae.Message, token[4:]) || strings.Contains(ae.Error(), token[4:])) {
		t.Errorf("error %q holds the token", ae.Error())
	}
}

func TestCheckUnauthenticated(t *testing.T) {
	a, read, _, _ := authorizer(t)
	unknown := mustToken(t)
	for _, h := range []string{
		"",
		"Bearer",
		"Bearer ",
		"Bearer  " + read,      // two spaces
		"Bearer\t" + read,      // not a space
		"Basic " + read,        // another scheme
		read,                   // no scheme
		"Bearer " + read + " ", // trailing space
		"Bearer " + read[:len(read)-1],
		"Bearer " + read + "x",
		"Bearer " + strings.Replace(read, "dkv_", "dkx_", 1),
		"Bearer " + unknown,
	} {
		_, err := a.Check("GET", "/kv/a", h)
		wantAuthError(t, err, 401, CodeUnauthenticated, read)
		if strings.Contains(err.Error(), unknown[4:]) {
			t.Errorf("error %q holds the token", err)
		}
	}
	// The scheme is case-insensitive.
	for _, scheme := range []string{"Bearer", "bearer", "BEARER", "bEaReR"} {
		if p, err := a.Check("GET", "/kv/a", scheme+" "+read); err != nil || p != "reader" {
			t.Errorf("scheme %q: %q, %v", scheme, p, err)
		}
	}
	// No store: every token is unknown.
	if _, err := (&Authorizer{}).Check("GET", "/kv/a", "Bearer "+read); err == nil {
		t.Error("an Authorizer without a Store let a request through")
	}
}

func TestCheckRoles(t *testing.T) {
	a, read, write, admin := authorizer(t)
	p, err := a.Check("PUT", "/kv/a", "Bearer "+read)
	wantAuthError(t, err, 403, CodeForbidden, read)
	if p != "reader" {
		t.Errorf("403 names principal %q", p)
	}
	_, err = a.Check("POST", "/cluster/leave", "Bearer "+write)
	wantAuthError(t, err, 403, CodeForbidden, write)
	_, err = a.Check("GET", "/admin/local/k", "Bearer "+write)
	wantAuthError(t, err, 403, CodeForbidden, write)
	_, err = a.Check("GET", "/ui/status", "Bearer "+read) // the dashboard's data is admin's
	wantAuthError(t, err, 403, CodeForbidden, read)

	for _, ok := range []struct{ method, path, token, principal string }{
		{"GET", "/kv/a", read, "reader"},
		{"GET", "/cluster/status", read, "reader"},
		{"PUT", "/kv/a", write, "writer"},
		{"DELETE", "/kv/a", write, "writer"},
		{"GET", "/kv/a", write, "writer"},
	} {
		if p, err := a.Check(ok.method, ok.path, "Bearer "+ok.token); err != nil || p != ok.principal {
			t.Errorf("%s %s as %s: %q, %v", ok.method, ok.path, ok.principal, p, err)
		}
	}
	// Admin may do anything.
	for _, r := range []struct{ method, path string }{
		{"GET", "/kv/a"}, {"PUT", "/kv/a"}, {"DELETE", "/kv/a"}, {"GET", "/cluster/members"},
		{"POST", "/cluster/leave"}, {"POST", "/cluster/remove/n2"}, {"GET", "/admin/local/k"},
		{"GET", "/ui/status"}, {"POST", "/internal/v1/read"}, {"GET", "/metrics"}, {"PATCH", "/x"},
	} {
		if p, err := a.Check(r.method, r.path, "Bearer "+admin); err != nil || p != "root" {
			t.Errorf("%s %s as admin: %q, %v", r.method, r.path, p, err)
		}
	}
}

func TestCheckOpenPaths(t *testing.T) {
	a, _, _, _ := authorizer(t)
	for _, path := range []string{"/livez", "/readyz", "/healthz", "/version"} {
		for _, method := range []string{"GET", "HEAD"} {
			if p, err := a.Check(method, path, ""); err != nil || p != "" {
				t.Errorf("%s %s: %q, %v", method, path, p, err)
			}
		}
	}
	// A bad header on an open path is ignored: the path needs nothing.
	if _, err := a.Check("GET", "/livez", "Bearer nonsense"); err != nil {
		t.Errorf("/livez with a bad header: %v", err)
	}
	_, err := a.Check("GET", "/metrics", "")
	wantAuthError(t, err, 401, CodeUnauthenticated, "")
	a.MetricsOpen = true
	if _, err := a.Check("GET", "/metrics", ""); err != nil {
		t.Errorf("open /metrics: %v", err)
	}
}
