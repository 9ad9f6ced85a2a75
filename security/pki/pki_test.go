package pki

import (
	"crypto/x509"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// newCA makes a CA in a fresh directory and returns the directory.
func newCA(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "certs")
	if err := CreateCA(dir, false); err != nil {
		t.Fatalf("CreateCA: %v", err)
	}
	return dir
}

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	certs, err := readCerts(path)
	if err != nil {
		t.Fatal(err)
	}
	return certs[0]
}

func TestCreateFilesAndModes(t *testing.T) {
	dir := newCA(t)
	if err := CreateNode(dir, "n1", nil, false); err != nil {
		t.Fatalf("CreateNode: %v", err)
	}
	if err := CreateClient(dir, "alice", false); err != nil {
		t.Fatalf("CreateClient: %v", err)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("certs dir: %v, mode %v; want 0700", err, fi.Mode().Perm())
	}
	want := map[string]fs.FileMode{
		CAFile: 0o644, CAKeyFile: 0o600, NodeCertFile: 0o644, NodeKeyFile: 0o600,
		ClientCertFile("alice"): 0o644, ClientKeyFile("alice"): 0o600,
	}
	for name, mode := range want {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if fi.Mode().Perm() != mode {
			t.Errorf("%s: mode %v, want %v", name, fi.Mode().Perm(), mode)
		}
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file left behind: %s", e.Name())
		}
	}
	key, _ := os.ReadFile(filepath.Join(dir, NodeKeyFile))
	if !strings.HasPrefix(string(key), "-----BEGIN PRIVATE KEY-----") {
		t.Errorf("node key is not PKCS8 PEM")
	}
}

func TestCertificateContents(t *testing.T) {
	dir := newCA(t)
	if err := CreateNode(dir, "n1", []string{"db1.example", "10.0.0.1"}, false); err != nil {
		t.Fatal(err)
	}
	if err := CreateClient(dir, "alice", false); err != nil {
		t.Fatal(err)
	}
	ca := readCert(t, filepath.Join(dir, CAFile))
	if !ca.IsCA || ca.KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageCRLSign {
		t.Errorf("CA: IsCA %v, key usage %v", ca.IsCA, ca.KeyUsage)
	}
	if life := ca.NotAfter.Sub(ca.NotBefore); life < 9*365*24*time.Hour {
		t.Errorf("CA lifetime %v, want about 10 years", life)
	}
	node := readCert(t, filepath.Join(dir, NodeCertFile))
	if id, ok := NodeIDOf(node); !ok || id != "n1" || node.Subject.CommonName != "n1" {
		t.Errorf("node: NodeIDOf = %q, %v; CN %q", id, ok, node.Subject.CommonName)
	}
	if !slices.Equal(node.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}) {
		t.Errorf("node ext key usage %v", node.ExtKeyUsage)
	}
	if !slices.Equal(node.DNSNames, []string{"db1.example"}) || len(node.IPAddresses) != 1 || node.IPAddresses[0].String() != "10.0.0.1" {
		t.Errorf("node SANs: DNS %v, IP %v", node.DNSNames, node.IPAddresses)
	}
	if node.SerialNumber.BitLen() < 64 || node.SerialNumber.Cmp(ca.SerialNumber) == 0 {
		t.Errorf("serial %v does not look random", node.SerialNumber)
	}
	client := readCert(t, filepath.Join(dir, ClientCertFile("alice")))
	if _, ok := NodeIDOf(client); ok || client.Subject.CommonName != "alice" {
		t.Errorf("client: node URI present or CN %q", client.Subject.CommonName)
	}
	if !slices.Equal(client.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}) {
		t.Errorf("client ext key usage %v", client.ExtKeyUsage)
	}
}

func TestDefaultHosts(t *testing.T) {
	dir := newCA(t)
	if err := CreateNode(dir, "n1", nil, false); err != nil {
		t.Fatal(err)
	}
	node := readCert(t, filepath.Join(dir, NodeCertFile))
	if !slices.Equal(node.DNSNames, []string{"localhost"}) || len(node.IPAddresses) != 2 {
		t.Errorf("default SANs: DNS %v, IP %v", node.DNSNames, node.IPAddresses)
	}
}

func TestRefuseOverwrite(t *testing.T) {
	dir := newCA(t)
	before, _ := os.ReadFile(filepath.Join(dir, CAKeyFile))
	err := CreateCA(dir, false)
	if !errors.Is(err, fs.ErrExist) || !strings.Contains(err.Error(), filepath.Join(dir, CAFile)) {
		t.Fatalf("second CreateCA: %v; want ErrExist naming ca.crt", err)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, CAKeyFile)); string(after) != string(before) {
		t.Fatal("refused CreateCA changed ca.key")
	}
	if err := CreateCA(dir, true); err != nil {
		t.Fatalf("CreateCA with overwrite: %v", err)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, CAKeyFile)); string(after) == string(before) {
		t.Fatal("CreateCA with overwrite kept the old key")
	}

	if err := CreateNode(dir, "n1", nil, false); err != nil {
		t.Fatal(err)
	}
	if err := CreateNode(dir, "n1", nil, false); !errors.Is(err, fs.ErrExist) || !strings.Contains(err.Error(), NodeCertFile) {
		t.Errorf("second CreateNode: %v", err)
	}
	if err := CreateClient(dir, "alice", false); err != nil {
		t.Fatal(err)
	}
	if err := CreateClient(dir, "alice", false); !errors.Is(err, fs.ErrExist) || !strings.Contains(err.Error(), "client.alice.crt") {
		t.Errorf("second CreateClient: %v", err)
	}
}

func TestInvalidNames(t *testing.T) {
	dir := newCA(t)
	for _, id := range []string{"", ".n1", "-n1", "n/1", "n 1", "../x", "n1:2", strings.Repeat("a", 129), "ü"} {
		if err := CreateNode(dir, id, nil, false); !errors.Is(err, ErrInvalidName) || !strings.Contains(err.Error(), "node id") {
			t.Errorf("CreateNode(%q): %v; want ErrInvalidName", id, err)
		}
		if err := CreateClient(dir, id, false); !errors.Is(err, ErrInvalidName) {
			t.Errorf("CreateClient(%q): %v; want ErrInvalidName", id, err)
		}
	}
	if err := CreateNode(dir, strings.Repeat("a", 128), nil, false); err != nil {
		t.Errorf("128-character id: %v", err)
	}
	for _, h := range []string{"", "http://x", "a b", "host:80"} {
		if err := CreateNode(dir, "n2", []string{h}, true); !errors.Is(err, ErrInvalidName) {
			t.Errorf("host %q: %v; want ErrInvalidName", h, err)
		}
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "client.") {
			t.Errorf("invalid name left file %s", e.Name())
		}
	}
}

func TestNeedsCA(t *testing.T) {
	dir := t.TempDir()
	if err := CreateNode(dir, "n1", nil, false); err == nil || !strings.Contains(err.Error(), "no CA") {
		t.Errorf("CreateNode without a CA: %v", err)
	}
	if err := CreateClient(dir, "alice", false); err == nil {
		t.Error("CreateClient without a CA succeeded")
	}
}

func TestCreateNodeIn(t *testing.T) {
	ca := newCA(t)
	out := filepath.Join(t.TempDir(), "n1")
	written, err := CreateNodeIn(ca, out, "n1", nil, false)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(out, NodeCertFile), filepath.Join(out, NodeKeyFile), filepath.Join(out, CAFile)}
	if !slices.Equal(written, want) {
		t.Errorf("written %v, want %v", written, want)
	}
	if _, err := os.Stat(filepath.Join(out, CAKeyFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("CA key copied to the node dir: %v", err)
	}
	if _, err := NewReloader(want[0], want[1], want[2]); err != nil {
		t.Errorf("node dir does not load: %v", err)
	}
	// A second node into a dir whose ca.crt is some other CA's.
	other := newCA(t)
	if _, err := CreateNodeIn(other, out, "n1", nil, true); err == nil || !strings.Contains(err.Error(), "does not contain the CA") {
		t.Errorf("CreateNodeIn with a foreign ca.crt: %v", err)
	}
}

func TestList(t *testing.T) {
	dir := newCA(t)
	if err := CreateNode(dir, "n1", []string{"10.0.0.1"}, false); err != nil {
		t.Fatal(err)
	}
	if err := CreateClient(dir, "alice", false); err != nil {
		t.Fatal(err)
	}
	infos, err := List(dir)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, in := range infos {
		kinds = append(kinds, in.Kind)
		if len(in.Fingerprint) != 64 || in.NotAfter.Before(time.Now()) {
			t.Errorf("%s: fingerprint %q, not after %v", in.Path, in.Fingerprint, in.NotAfter)
		}
	}
	// Sorted by path: ca.crt, client.alice.crt, node.crt.
	if !slices.Equal(kinds, []string{KindCA, KindClient, KindNode}) {
		t.Fatalf("kinds %v", kinds)
	}
	if n := infos[2]; n.NodeID != "n1" || !slices.Equal(n.Hosts, []string{"10.0.0.1"}) {
		t.Errorf("node info %+v", n)
	}
	if err := os.WriteFile(filepath.Join(dir, "junk.crt"), []byte("not PEM"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := List(dir); err == nil || !strings.Contains(err.Error(), "junk.crt") {
		t.Errorf("List with a broken file: %v", err)
	}
	if _, err := List(filepath.Join(dir, "missing")); err == nil {
		t.Error("List of a missing dir succeeded")
	}
}

func TestLoadCAPoolRefusesKeys(t *testing.T) {
	dir := newCA(t)
	key, _ := os.ReadFile(filepath.Join(dir, CAKeyFile))
	bad := filepath.Join(dir, "bad.crt")
	if err := os.WriteFile(bad, key, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadCAPool(bad)
	if err == nil {
		t.Fatal("LoadCAPool accepted a key file")
	}
	assertNoKeyMaterial(t, err.Error(), key)
	if _, err := LoadCAPool(filepath.Join(dir, CAFile)); err != nil {
		t.Errorf("LoadCAPool(ca.crt): %v", err)
	}
}

// assertNoKeyMaterial fails if msg holds any line of the PEM body of key.
func assertNoKeyMaterial(t *testing.T, msg string, key []byte) {
	t.Helper()
	for line := range strings.SplitSeq(string(key), "\n") {
		if len(line) > 16 && !strings.HasPrefix(line, "-----") && strings.Contains(msg, line[:16]) {
			t.Fatalf("message carries key material: %s", msg)
		}
	}
}
