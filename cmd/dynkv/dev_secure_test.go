package main

import (
	"crypto/tls"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dynkv/dynkv/security/pki"
)

var (
	devSecureURLLine = regexp.MustCompile(`(?m)^\s+(n\d+)\s+(https://\S+)$`)
	devCALine        = regexp.MustCompile(`(?m)^\s+CA certificate\s+(\S+)$`)
	devTokenLine     = regexp.MustCompile(`(?m)^\s+admin token\s+(dkv_\S+)$`)
)

// TestDevSecure runs `dynkv dev --secure` and uses the cluster as its banner
// says: TLS trusting the printed CA, the printed token; a request without
// the token is refused.
func TestDevSecure(t *testing.T) {
	t.Parallel()
	base := freeBasePort(t, 3)
	p := startProc(t, "dev-secure", []string{"TMPDIR=" + t.TempDir()}, "dev", "--secure", "--base-port", strconv.Itoa(base), "--nodes", "3")
	var urls []string
	var ca, token string
	waitFor(t, "dev --secure to print its URLs, CA and token", func() (bool, string) {
		if p.exited() {
			t.Fatalf("dev --secure exited early with %d:\n%s%s", p.cmd.ProcessState.ExitCode(), p.stdout, p.stderr)
		}
		out := p.stdout.String()
		urls = urls[:0]
		for _, m := range devSecureURLLine.FindAllStringSubmatch(out, -1) {
			urls = append(urls, m[2])
		}
		if m := devCALine.FindStringSubmatch(out); m != nil {
			ca = m[1]
		}
		if m := devTokenLine.FindStringSubmatch(out); m != nil {
			token = m[1]
		}
		return len(urls) == 3 && ca != "" && token != "", out
	})
	pool, err := pki.LoadCAPool(ca)
	if err != nil {
		t.Fatal(err)
	}
	cl := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	send := func(method, url, tok, body string) int {
		t.Helper()
		req, err := http.NewRequest(method, url, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		res, err := cl.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, url, err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	waitFor(t, "a write over TLS with the token", func() (bool, string) {
		code := send("PUT", urls[0]+"/kv/greeting", token, "hello")
		return code == http.StatusNoContent, strconv.Itoa(code)
	})
	if code := send("GET", urls[2]+"/kv/greeting", token, ""); code != http.StatusOK {
		t.Errorf("GET with the token on n3: %d", code)
	}
	// The CLI as the banner says: the CA and token from the environment.
	if out := mustCLI(t, []string{"DYNKV_CA_CERT=" + ca, "DYNKV_TOKEN=" + token}, "get", "--endpoints", urls[1], "greeting"); !strings.Contains(out, "hello") {
		t.Errorf("dynkv get against dev --secure: %q", out)
	}
	if code := send("PUT", urls[1]+"/kv/greeting", "", "forged"); code != http.StatusUnauthorized {
		t.Errorf("PUT without a token: %d, want 401", code)
	}
	if _, err := http.Get(strings.Replace(urls[0], "https://", "http://", 1) + "/healthz"); err == nil {
		t.Error("plain HTTP answered on the secured port")
	}
	p.signal(t, syscall.SIGINT)
	if code := p.wait(t); code != 0 {
		t.Fatalf("dev --secure exited with %d after SIGINT, want 0", code)
	}
}
