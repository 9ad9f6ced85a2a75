package main

import (
	"bytes"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// cliToken has a token's shape; the tests check it is never printed.
const cliToken = "dkv_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"

// secureFake is a node on https that records what each request brought.
type secureFake struct {
	*httptest.Server
	ca string // its CA, in a PEM file

	mu     sync.Mutex
	auth   [][]string // each request's Authorization headers
	plain  int        // requests that arrived without TLS
	refuse int        // answer this status (401, 403) to everything but /healthz
}

func newSecureFake(t *testing.T) *secureFake {
	t.Helper()
	f := &secureFake{}
	f.Server = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	f.Config.ErrorLog = log.New(io.Discard, "", 0)
	f.StartTLS()
	t.Cleanup(f.Close)
	f.ca = filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(f.ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// serve answers like a node: a value for a GET of a key (raw, or JSON to
// the SDK), 204 to a PUT, or the scripted refusal.
func (f *secureFake) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	if r.URL.Path != "/healthz" {
		f.auth = append(f.auth, r.Header.Values("Authorization"))
	}
	if r.TLS == nil {
		f.plain++
	}
	refuse := f.refuse
	f.mu.Unlock()
	w.Header().Set("X-Dynkv-Node", "n1")
	w.Header().Set("X-Causal-Context", "AQEP")
	switch {
	case r.URL.Path == "/healthz":
		io.WriteString(w, `{"status":"ok"}`)
	case refuse != 0:
		code := map[int]string{401: "unauthenticated", 403: "forbidden"}[refuse]
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(refuse)
		fmt.Fprintf(w, `{"error":"scripted %s","code":%q}`, code, code)
	case r.Method == http.MethodPut:
		w.WriteHeader(http.StatusNoContent)
	case strings.Contains(r.Header.Get("Accept"), "application/json"):
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"siblings":[{"value":"aGk=","content_type":"text/plain","modified":"2026-01-02T03:04:05.006Z"}],"context":"AQEP"}`)
	default:
		io.WriteString(w, "hi")
	}
}

// checkAuth checks that every request came over TLS with the token once.
func (f *secureFake) checkAuth(t *testing.T) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.auth) == 0 || f.plain != 0 {
		t.Fatalf("%d requests, %d without TLS", len(f.auth), f.plain)
	}
	for _, a := range f.auth {
		if len(a) != 1 || a[0] != "Bearer "+cliToken {
			t.Fatalf("Authorization headers %q, want one: Bearer <token>", a)
		}
	}
}

func runIn(cmd func([]string, io.Reader, io.Writer, io.Writer, func(string) (string, bool)) int, env map[string]string, args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = cmd(args, strings.NewReader(""), &out, &errOut, envMap(env))
	return code, out.String(), errOut.String()
}

// TestKVTLSToken: --ca-cert makes a bare endpoint https, the token from
// --token or DYNKV_TOKEN reaches the node, and a refusal is one line with
// a hint and without the token.
func TestKVTLSToken(t *testing.T) {
	t.Parallel()
	f := newSecureFake(t)
	ep := strings.TrimPrefix(f.URL, "https://")
	code, out, errOut := runIn(runGet, map[string]string{"DYNKV_TOKEN": cliToken}, "--endpoints", ep, "--ca-cert", f.ca, "k")
	if code != 0 || !strings.Contains(out, "hi") {
		t.Fatalf("get over https: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	code, _, errOut = runIn(runPut, map[string]string{"DYNKV_CA_CERT": f.ca}, "--endpoints", ep, "--token", cliToken, "k", "v")
	if code != 0 {
		t.Fatalf("put over https: exit %d: %s", code, errOut)
	}
	f.checkAuth(t)

	for status, hint := range map[int]string{401: "give a token with --token or DYNKV_TOKEN", 403: "role does not allow this"} {
		f.mu.Lock()
		f.refuse = status
		f.mu.Unlock()
		code, out, errOut := runIn(runGet, map[string]string{"DYNKV_TOKEN": cliToken}, "--endpoints", ep, "--ca-cert", f.ca, "k")
		want := map[int]string{401: "unauthenticated: scripted unauthenticated", 403: "forbidden: scripted forbidden"}[status]
		if code != 1 || strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, "dynkv get ") ||
			!strings.Contains(errOut, want) || !strings.Contains(errOut, hint) {
			t.Errorf("%d: exit %d, stderr %q; want exit 1 and one line with %q and %q", status, code, errOut, want, hint)
		}
		if strings.Contains(out+errOut, cliToken) {
			t.Errorf("%d: the token was printed: %q %q", status, out, errOut)
		}
	}
}

// TestKVTLSFlags: misused flags are usage errors, the CA is required for
// https, and --help never shows a token from the environment.
func TestKVTLSFlags(t *testing.T) {
	t.Parallel()
	f := newSecureFake(t)
	ep := strings.TrimPrefix(f.URL, "https://")
	for _, args := range [][]string{
		{"--client-cert", f.ca, "k"},
		{"--ca-cert", f.ca, "--client-cert", f.ca, "k"},
		{"--ca-cert", filepath.Join(t.TempDir(), "missing.crt"), "k"},
		{"--ca-cert", f.ca, "--endpoints", "http://" + ep, "k"},
		{"--token", "dkv_ with a space", "k"},
	} {
		code, _, errOut := runIn(runGet, nil, append([]string{"--endpoints", ep}, args...)...)
		if code != 2 || strings.Contains(errOut, "with a space") {
			t.Errorf("get %q: exit %d, stderr %q; want 2, without the token", args, code, errOut)
		}
	}
	// https without --ca-cert: the system's roots do not trust the node.
	if code, _, errOut := runIn(runGet, nil, "--endpoints", f.URL, "k"); code != 1 || !strings.Contains(errOut, "certificate") {
		t.Errorf("get from an untrusted node: exit %d, stderr %q", code, errOut)
	}
	for _, cmd := range []func([]string, io.Reader, io.Writer, io.Writer, func(string) (string, bool)) int{runGet, runStatus, runLoadtest} {
		code, out, _ := runIn(cmd, map[string]string{"DYNKV_TOKEN": cliToken}, "--help")
		if code != 0 || strings.Contains(out, cliToken) || !strings.Contains(out, "--token") || !strings.Contains(out, "DYNKV_CA_CERT") {
			t.Errorf("--help: exit %d, shows the token or lacks the flags:\n%s", code, out)
		}
	}
}

// TestLoadtestTLSToken runs both dynkv drivers over https with a token.
func TestLoadtestTLSToken(t *testing.T) {
	t.Parallel()
	for _, driver := range []string{"dynkv", "dynkv-sdk"} {
		f := newSecureFake(t)
		code, out, errOut := runIn(runLoadtest, map[string]string{"DYNKV_TOKEN": cliToken}, "--driver", driver,
			"--endpoints", strings.TrimPrefix(f.URL, "https://"), "--ca-cert", f.ca, "--workload", "A",
			"--ops", "40", "--duration", "0", "--concurrency", "2", "--keys", "10", "--progress-interval", "0")
		if code != 0 {
			t.Fatalf("loadtest --driver %s: exit %d\nstdout: %s\nstderr: %s", driver, code, out, errOut)
		}
		f.checkAuth(t)
	}
}
