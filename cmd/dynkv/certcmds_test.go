package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// certRun runs dynkv with args in-process, with no environment.
func certRun(t *testing.T, args ...string) cliResult {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(args, strings.NewReader(""), &stdout, &stderr, envMap(nil))
	return cliResult{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

// keyLines are the PEM body lines of every key file under dir, which no
// output may contain.
func keyLines(t *testing.T, dir string) []string {
	t.Helper()
	var lines []string
	keys, _ := filepath.Glob(filepath.Join(dir, "*", "*.key"))
	more, _ := filepath.Glob(filepath.Join(dir, "*.key"))
	for _, k := range append(keys, more...) {
		b, err := os.ReadFile(k)
		if err != nil {
			t.Fatal(err)
		}
		for l := range strings.SplitSeq(string(b), "\n") {
			if l != "" && !strings.HasPrefix(l, "-----") {
				lines = append(lines, l)
			}
		}
	}
	return lines
}

func TestCertCommands(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	var outputs []string
	step := func(wantFiles []string, args ...string) cliResult {
		t.Helper()
		r := certRun(t, append(args, "--certs-dir", dir)...)
		outputs = append(outputs, r.stdout, r.stderr)
		if r.code != 0 {
			t.Fatalf("%q: exit %d, stderr %q", args, r.code, r.stderr)
		}
		for _, f := range wantFiles {
			if !strings.Contains(r.stdout, filepath.Join(dir, f)) {
				t.Errorf("%q: output %q does not name %s", args, r.stdout, f)
			}
		}
		if wantFiles != nil && strings.Count(r.stdout, "\n") != 1 {
			t.Errorf("%q: output is not one line: %q", args, r.stdout)
		}
		return r
	}
	step([]string{"ca.crt", "ca.key"}, "cert", "create-ca")
	step([]string{"node.crt", "node.key"}, "cert", "create-node", "n1", "--host", "10.0.0.1")
	step([]string{"client.alice.crt", "client.alice.key"}, "cert", "create-client", "alice")
	r := step(nil, "cert", "list", "-o", "json")
	var certs []certJSON
	if err := json.Unmarshal([]byte(r.stdout), &certs); err != nil {
		t.Fatalf("list -o json: %v\n%s", err, r.stdout)
	}
	var kinds []string
	for _, c := range certs {
		kinds = append(kinds, c.Kind)
	}
	if !slices.Equal(kinds, []string{"ca", "client", "node"}) {
		t.Fatalf("kinds %v, want ca, client, node", kinds)
	}
	if n := certs[2]; n.NodeID != "n1" || !slices.Equal(n.Hosts, []string{"10.0.0.1"}) || len(n.Fingerprint) != 64 {
		t.Errorf("node entry %+v", n)
	}
	r = step(nil, "cert", "list")
	for _, want := range []string{"KIND", "node", "n1", "10.0.0.1", "client", "CN=alice", filepath.Join(dir, "node.crt")} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("list lacks %q:\n%s", want, r.stdout)
		}
	}
	for _, out := range outputs {
		for _, l := range keyLines(t, dir) {
			if strings.Contains(out, l) {
				t.Fatalf("output carries key material:\n%s", out)
			}
		}
	}
}

func TestCertCreateNodeOutDir(t *testing.T) {
	root := t.TempDir()
	ca := filepath.Join(root, "certs")
	if r := certRun(t, "cert", "create-ca", "--certs-dir", ca); r.code != 0 {
		t.Fatal(r.stderr)
	}
	out := filepath.Join(ca, "n2")
	r := certRun(t, "cert", "create-node", "--certs-dir", ca, "--out-dir", out, "--host", "a.example,10.0.0.2", "--host", "b.example", "n2")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, f := range []string{"node.crt", "node.key", "ca.crt"} {
		if !strings.Contains(r.stdout, filepath.Join(out, f)) {
			t.Errorf("output %q does not name %s", r.stdout, f)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "ca.key")); err == nil {
		t.Error("ca.key copied into the node's dir")
	}
	if _, err := os.Stat(filepath.Join(ca, "node.crt")); err == nil {
		t.Error("node.crt written to --certs-dir despite --out-dir")
	}
	r = certRun(t, "cert", "list", "--certs-dir", out, "-o=json")
	var certs []certJSON
	if err := json.Unmarshal([]byte(r.stdout), &certs); err != nil || len(certs) != 2 {
		t.Fatalf("list of the node dir: %v\n%s", err, r.stdout)
	}
	if !slices.Equal(certs[1].Hosts, []string{"a.example", "b.example", "10.0.0.2"}) {
		t.Errorf("hosts %v", certs[1].Hosts)
	}
}

func TestCertErrors(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	if r := certRun(t, "cert", "create-ca", "--certs-dir", dir); r.code != 0 {
		t.Fatal(r.stderr)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"cert", "create-ca", "--certs-dir", dir}, 1, filepath.Join(dir, "ca.crt")},
		{[]string{"cert", "create-node", "n/1", "--certs-dir", dir}, 2, `node id "n/1"`},
		{[]string{"cert", "create-node", "--certs-dir", dir}, 2, "missing argument"},
		{[]string{"cert", "create-node", "n1", "n2", "--certs-dir", dir}, 2, `unexpected argument "n2"`},
		{[]string{"cert", "create-node", "n1", "--host", "a b", "--certs-dir", dir}, 2, `host "a b"`},
		{[]string{"cert", "create-client", "-x", "--certs-dir", dir}, 2, "--x"},
		{[]string{"cert", "create-node", "n1", "--certs-dir", filepath.Join(dir, "none")}, 1, "no CA"},
		{[]string{"cert", "list", "-o", "yaml", "--certs-dir", dir}, 2, "--output"},
		{[]string{"cert", "list", "--certs-dir", filepath.Join(dir, "none")}, 1, "none"},
		{[]string{"cert", "frob"}, 2, `unknown subcommand "frob"`},
	} {
		r := certRun(t, tc.args...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want %d naming %q", tc.args[1:], r.code, r.stderr, tc.code, tc.want)
		}
		if strings.Count(r.stderr, "\n") != 1 || r.stdout != "" {
			t.Errorf("%q: stderr not one line or stdout not empty: %q, %q", tc.args[1:], r.stderr, r.stdout)
		}
		for _, l := range keyLines(t, dir) {
			if strings.Contains(r.stderr, l) {
				t.Fatalf("%q: stderr carries key material", tc.args[1:])
			}
		}
	}
	if r := certRun(t, "cert", "create-ca", "--certs-dir", dir); !strings.Contains(r.stderr, "--overwrite") {
		t.Errorf("refusal does not mention --overwrite: %q", r.stderr)
	}
	if r := certRun(t, "cert", "create-ca", "--certs-dir", dir, "--overwrite"); r.code != 0 {
		t.Errorf("--overwrite: exit %d, %q", r.code, r.stderr)
	}
}

func TestCertEnv(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "fromenv")
	var stdout, stderr bytes.Buffer
	code := run([]string{"cert", "create-ca"}, strings.NewReader(""), &stdout, &stderr, envMap(map[string]string{"DYNKV_CERT_CERTS_DIR": dir}))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "ca.crt")); err != nil {
		t.Errorf("DYNKV_CERT_CERTS_DIR not used: %v", err)
	}
	// --overwrite destroys the CA key: a variable left exported must not
	// turn it on.
	stderr.Reset()
	env := envMap(map[string]string{"DYNKV_CERT_CERTS_DIR": dir, "DYNKV_CERT_OVERWRITE": "true"})
	if code := run([]string{"cert", "create-ca"}, strings.NewReader(""), &stdout, &stderr, env); code != 1 || !strings.Contains(stderr.String(), "--overwrite") {
		t.Errorf("create-ca over an existing CA with DYNKV_CERT_OVERWRITE=true: exit %d, %q; want 1 asking for --overwrite", code, stderr.String())
	}
}

func TestCertHelp(t *testing.T) {
	for _, args := range [][]string{{"cert", "--help"}, {"cert", "help"}, {"help", "cert"}} {
		r := certRun(t, args...)
		if r.code != 0 || !strings.Contains(r.stdout, "create-node") || !strings.Contains(r.stdout, "--out-dir") {
			t.Errorf("%q: exit %d, stdout %q", args, r.code, r.stdout)
		}
	}
	if r := certRun(t, "cert"); r.code != 2 || !strings.Contains(r.stderr, "create-client") {
		t.Errorf("bare cert: exit %d, stderr %q", r.code, r.stderr)
	}
	for _, sub := range []string{"create-ca", "create-node", "create-client", "list"} {
		r := certRun(t, "cert", sub, "--help")
		if r.code != 0 || !strings.Contains(r.stdout, "--certs-dir") || !strings.Contains(r.stdout, "DYNKV_CERT_CERTS_DIR") {
			t.Errorf("cert %s --help: exit %d, stdout %q", sub, r.code, r.stdout)
		}
	}
	if r := certRun(t, "cert", "help", "create-node"); !strings.Contains(r.stdout, "--host") {
		t.Errorf("cert help create-node: %q", r.stdout)
	}
	if r := certRun(t, "help"); !strings.Contains(r.stdout, "cert      make the cluster CA") {
		t.Error("dynkv help does not list cert")
	}
}

func TestCertCreateCluster(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "secure")
	r := certRun(t, "cert", "create-cluster", "--nodes", "n1,n2", "--certs-dir", dir)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, f := range []string{"ca.crt", "ca.key", "tokens", "admin.token", "n1/node.crt", "n1/node.key", "n1/ca.crt", "n1/gossip.keys", "n2/gossip.keys"} {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if secret := strings.HasSuffix(f, ".key") || strings.HasSuffix(f, ".keys") || strings.HasSuffix(f, "token") || f == "tokens"; secret && fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v; want 0600", f, fi.Mode().Perm())
		}
	}
	token, _ := os.ReadFile(filepath.Join(dir, "admin.token"))
	if !strings.HasPrefix(string(token), "dkv_") || strings.Contains(r.stdout+r.stderr, strings.TrimSpace(string(token))) {
		t.Errorf("admin token %q, or printed", token)
	}
	k1, _ := os.ReadFile(filepath.Join(dir, "n1", "gossip.keys"))
	k2, _ := os.ReadFile(filepath.Join(dir, "n2", "gossip.keys"))
	if string(k1) != string(k2) {
		t.Error("the nodes' gossip keyrings differ")
	}
	// Again, as an init container at every start: nothing changes.
	if r := certRun(t, "cert", "create-cluster", "--nodes", "n1,n2", "--certs-dir", dir); r.code != 0 || !strings.Contains(r.stdout, "nothing changed") {
		t.Fatalf("second run: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	if again, _ := os.ReadFile(filepath.Join(dir, "admin.token")); string(again) != string(token) {
		t.Error("the second run replaced the admin token")
	}
	if r := certRun(t, "cert", "create-cluster", "--certs-dir", t.TempDir()); r.code != 2 {
		t.Errorf("no --nodes: exit %d, want 2", r.code)
	}
}
