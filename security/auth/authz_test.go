package auth

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestRequired(t *testing.T) {
	type want struct {
		role   Role
		needed bool
	}
	open, read, write, admin := want{0, false}, want{RoleRead, true}, want{RoleWrite, true}, want{RoleAdmin, true}
	for _, tc := range []struct {
		method, path string
		metricsOpen  bool
		want         want
	}{
		{"GET", "/livez", false, open},
		{"HEAD", "/readyz", false, open},
		{"GET", "/healthz", false, open},
		{"GET", "/healthz?verbose=1", false, open},
		{"GET", "/version", false, open},
		{"POST", "/version", false, admin},
		{"POST", "/healthz", false, admin},
		{"GET", "/metrics", true, open},
		{"GET", "/metrics", false, read},
		{"POST", "/metrics", true, admin},
		{"GET", "/kv/a", false, read},
		{"HEAD", "/kv/a", false, read},
		{"PUT", "/kv/a", false, write},
		{"POST", "/kv/a", false, write},
		{"DELETE", "/kv/a?w=all", false, write},
		{"PATCH", "/kv/a", false, admin},
		{"GET", "/buckets/carts/kv/a", false, read},
		{"PUT", "/buckets/carts/kv/a", false, write},
		{"DELETE", "/buckets/carts/kv/a/b?w=1", false, write},
		{"PATCH", "/buckets/carts/kv/a", false, admin},
		{"GET", "/buckets/carts/kv", false, read},
		{"PUT", "/buckets/carts/kv", false, admin}, // no key: not a key route
		{"GET", "/buckets", false, read},
		{"GET", "/buckets/carts/props", false, read},
		{"PUT", "/buckets/carts/props", false, admin},
		{"PUT", "/buckets/carts/propskv/a", false, admin},
		{"PUT", "/buckets/kv/a", false, admin},       // bucket "kv", route "a"
		{"GET", "/kv/../cluster/leave", false, read}, // the router serves this as key "../cluster/leave"
		{"GET", "/buckets/b/kv/a", false, read},
		{"HEAD", "/buckets/b/kv/a", false, read},
		{"PUT", "/buckets/b/kv/a", false, write},
		{"POST", "/buckets/b/kv/a?w=2", false, write},
		{"DELETE", "/buckets/b/kv/a", false, write},
		{"PATCH", "/buckets/b/kv/a", false, admin},
		{"GET", "/buckets/b/kv", false, read},
		{"PUT", "/buckets/b/kv", false, admin},
		{"GET", "/buckets", false, read},
		{"GET", "/buckets/b/props", false, read},
		{"PUT", "/buckets/b/props", false, admin},
		{"POST", "/buckets/b/props", false, admin},
		// The router serves these as the key "../props" of bucket b: write.
		{"PUT", "/buckets/b/kv/../props", false, write},
		{"PUT", "/buckets/b/kv/%2e%2e/props", false, write},
		// These it refuses (a bad bucket name, an unknown route): the
		// default rule, at least as strict as any route they could reach.
		{"PUT", "/buckets/../kv/a", false, admin},
		{"PUT", "/buckets/B/kv/a", false, admin},
		{"PUT", "/buckets//kv/a", false, admin},
		{"PUT", "/buckets/b/props/../kv/a", false, admin},
		{"PUT", "/buckets/b/kvx/a", false, admin},
		{"PUT", "/buckets/b%2Fkv/a", false, admin},
		{"GET", "/cluster/members", false, read},
		{"GET", "/cluster/ring?key=k", false, read},
		{"GET", "/cluster/status", false, read},
		{"GET", "/cluster/handoffs", false, read},
		{"GET", "/openapi.json", false, read},
		{"POST", "/cluster/leave", false, admin},
		{"GET", "/cluster/leave", false, admin},
		{"POST", "/cluster/remove/n3", false, admin},
		{"GET", "/admin/local/k", false, admin},
		{"GET", "/admin", false, admin},
		{"GET", "/", false, open},
		{"POST", "/", false, admin},
		{"GET", "/ui", false, open},
		{"GET", "/ui/", false, open},
		{"HEAD", "/ui/assets/app.js", false, open},
		{"POST", "/ui", false, admin},
		{"GET", "/ui/status", false, admin},
		{"GET", "/ui/status?scope=local", false, admin},
		{"GET", "/ui/app.js", false, admin},
		{"GET", "/ui/assetsx", false, admin},
		{"POST", "/internal/v1/write", false, admin},
		{"GET", "/unknown", false, read},
		{"POST", "/unknown", false, admin},
		{"OPTIONS", "/kv/a", false, admin},
		{"get", "/kv/a", false, admin}, // methods are case-sensitive, as the router's are
		{"GET", "/uix", false, read},
	} {
		role, needed := Required(tc.method, tc.path, tc.metricsOpen)
		if (want{role, needed}) != tc.want {
			t.Errorf("Required(%s %s, metricsOpen=%v) = %v %v, want %v %v",
				tc.method, tc.path, tc.metricsOpen, role, needed, tc.want.role, tc.want.needed)
		}
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
