package pki

import (
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// nodeDir makes node id's certs dir with a certificate from the CA in caDir.
func nodeDir(t *testing.T, caDir, id string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), id)
	if _, err := CreateNodeIn(caDir, out, id, nil, false); err != nil {
		t.Fatalf("CreateNodeIn(%s): %v", id, err)
	}
	return out
}

func reloader(t *testing.T, dir string) *Reloader {
	t.Helper()
	r, err := NewReloader(filepath.Join(dir, NodeCertFile), filepath.Join(dir, NodeKeyFile), filepath.Join(dir, CAFile))
	if err != nil {
		t.Fatalf("NewReloader(%s): %v", dir, err)
	}
	return r
}

// result is one side of a handshake.
type result struct {
	state tls.ConnectionState
	err   error
}

// handshake connects a client with clientCfg to a server with serverCfg
// over loopback TCP (kernel buffers, unlike net.Pipe, so neither side's
// writes wait on the other's reads). After a good handshake the server
// writes one byte that the client reads: in TLS 1.3 the client finishes
// before the server has checked its certificate, and the read is where it
// learns of a refusal.
func handshake(t *testing.T, serverCfg, clientCfg *tls.Config) (server, client result) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan result, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			done <- result{err: err}
			return
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		tc := tls.Server(conn, serverCfg)
		err = tc.Handshake()
		if err == nil {
			_, err = tc.Write([]byte{1})
		}
		done <- result{state: tc.ConnectionState(), err: err}
	}()
	conn, err := net.DialTimeout("tcp", ln.Addr().String(), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	tc := tls.Client(conn, clientCfg)
	err = tc.Handshake()
	if err == nil {
		_, err = tc.Read(make([]byte, 1))
	}
	client = result{state: tc.ConnectionState(), err: err}
	if err != nil {
		conn.Close() // the server may be waiting for our Finished
	}
	return <-done, client
}

func TestMutualTLS(t *testing.T) {
	ca := newCA(t)
	a, b := reloader(t, nodeDir(t, ca, "n1")), reloader(t, nodeDir(t, ca, "n2"))
	srv, cli := handshake(t, a.ServerConfig(true), b.ClientConfig("n1"))
	if srv.err != nil || cli.err != nil {
		t.Fatalf("handshake: server %v, client %v", srv.err, cli.err)
	}
	if id, err := PeerNodeID(srv.state); err != nil || id != "n2" {
		t.Errorf("server's PeerNodeID = %q, %v; want n2", id, err)
	}
	if id, err := PeerNodeID(cli.state); err != nil || id != "n1" {
		t.Errorf("client's PeerNodeID = %q, %v; want n1", id, err)
	}
	if srv.state.Version != tls.VersionTLS13 {
		t.Errorf("version %x, want TLS 1.3", srv.state.Version)
	}
	// Any node will do when the dialer does not know whom it dials.
	if srv, cli := handshake(t, a.ServerConfig(true), b.ClientConfig("")); srv.err != nil || cli.err != nil {
		t.Errorf("handshake without an expected id: server %v, client %v", srv.err, cli.err)
	}
}

func TestForeignCARefused(t *testing.T) {
	caA, caX := newCA(t), newCA(t)
	a := reloader(t, nodeDir(t, caA, "n1"))
	// x's certificate is from another CA, but x trusts both CAs, so each
	// direction tests one side's refusal alone.
	xDir := nodeDir(t, caX, "n9")
	writeBundle(t, filepath.Join(xDir, CAFile), filepath.Join(caA, CAFile), filepath.Join(caX, CAFile))
	x := reloader(t, xDir)

	srv, cli := handshake(t, a.ServerConfig(true), x.ClientConfig("n1"))
	if srv.err == nil || !strings.Contains(srv.err.Error(), "unknown authority") {
		t.Errorf("server accepted a client from another CA: %v", srv.err)
	}
	if cli.err == nil {
		t.Error("client did not learn of the refusal")
	}
	srv, cli = handshake(t, x.ServerConfig(true), a.ClientConfig(""))
	if cli.err == nil || !strings.Contains(cli.err.Error(), "unknown authority") {
		t.Errorf("client accepted a server from another CA: %v", cli.err)
	}
	if srv.err == nil {
		t.Error("server handshake succeeded against a refusing client")
	}
}

func TestWrongNodeRefused(t *testing.T) {
	ca := newCA(t)
	n1, n3 := reloader(t, nodeDir(t, ca, "n1")), reloader(t, nodeDir(t, ca, "n3"))
	_, cli := handshake(t, n3.ServerConfig(true), n1.ClientConfig("n2"))
	if cli.err == nil || !strings.Contains(cli.err.Error(), `dialed node "n2" but the server is node "n3"`) {
		t.Errorf("ClientConfig(n2) against n3: %v", cli.err)
	}
}

func TestClientCertificate(t *testing.T) {
	ca := newCA(t)
	if err := CreateClient(ca, "alice", false); err != nil {
		t.Fatal(err)
	}
	alice, err := tls.LoadX509KeyPair(filepath.Join(ca, ClientCertFile("alice")), filepath.Join(ca, ClientKeyFile("alice")))
	if err != nil {
		t.Fatal(err)
	}
	pool, err := LoadCAPool(filepath.Join(ca, CAFile))
	if err != nil {
		t.Fatal(err)
	}
	n1 := reloader(t, nodeDir(t, ca, "n1"))
	// An SDK client: trusts the CA, checks the host name, presents alice.
	clientCfg := &tls.Config{RootCAs: pool, ServerName: "localhost", Certificates: []tls.Certificate{alice}}
	srv, cli := handshake(t, n1.ServerConfig(true), clientCfg)
	if srv.err != nil || cli.err != nil {
		t.Fatalf("client handshake: server %v, client %v", srv.err, cli.err)
	}
	if id, err := PeerNodeID(srv.state); err == nil {
		t.Errorf("PeerNodeID of a client certificate = %q, want an error", id)
	}
	if got := srv.state.PeerCertificates[0].Subject.CommonName; got != "alice" {
		t.Errorf("peer CN %q", got)
	}
	// Without a client certificate the internode listener refuses, the
	// client API listener does not.
	anon := &tls.Config{RootCAs: pool, ServerName: "localhost"}
	if srv, _ := handshake(t, n1.ServerConfig(true), anon); srv.err == nil {
		t.Error("internode listener accepted a client without a certificate")
	}
	if srv, cli := handshake(t, n1.ServerConfig(false), anon); srv.err != nil || cli.err != nil {
		t.Errorf("client API listener: server %v, client %v", srv.err, cli.err)
	}
	if _, err := PeerNodeID(tls.ConnectionState{}); err == nil {
		t.Error("PeerNodeID of no handshake succeeded")
	}
}

func TestTLS12Refused(t *testing.T) {
	ca := newCA(t)
	n1 := reloader(t, nodeDir(t, ca, "n1"))
	old := n1.ClientConfig("")
	old.MaxVersion = tls.VersionTLS12
	if srv, _ := handshake(t, n1.ServerConfig(false), old); srv.err == nil {
		t.Error("server accepted TLS 1.2")
	}
}

func TestReloadNodeCertificate(t *testing.T) {
	ca := newCA(t)
	dir := nodeDir(t, ca, "n1")
	r, peer := reloader(t, dir), reloader(t, nodeDir(t, ca, "n2"))
	srv, cli := handshake(t, r.ServerConfig(true), peer.ClientConfig("n1"))
	if srv.err != nil || cli.err != nil {
		t.Fatalf("handshake: %v, %v", srv.err, cli.err)
	}
	oldFP := Fingerprint(cli.state.PeerCertificates[0])

	if _, err := CreateNodeIn(ca, dir, "n1", nil, true); err != nil {
		t.Fatal(err)
	}
	if err := r.Reload(); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	newFP := Fingerprint(readCert(t, filepath.Join(dir, NodeCertFile)))
	if newFP == oldFP {
		t.Fatal("CreateNodeIn with overwrite made the same certificate")
	}
	// The same configs, made before the reload, now present the new one
	// both as server and as client.
	serverCfg, clientCfg := r.ServerConfig(true), r.ClientConfig("n2")
	srv, cli = handshake(t, serverCfg, peer.ClientConfig("n1"))
	if srv.err != nil || cli.err != nil || Fingerprint(cli.state.PeerCertificates[0]) != newFP {
		t.Fatalf("after reload: %v, %v; server presents the old certificate: %v", srv.err, cli.err,
			cli.err == nil && Fingerprint(cli.state.PeerCertificates[0]) == oldFP)
	}
	srv, _ = handshake(t, peer.ServerConfig(true), clientCfg)
	if srv.err != nil || Fingerprint(srv.state.PeerCertificates[0]) != newFP {
		t.Fatalf("after reload the client presents the old certificate (%v)", srv.err)
	}

	// A broken file: the reload fails and the current certificate stays.
	if err := os.WriteFile(filepath.Join(dir, NodeCertFile), []byte("-----BEGIN CERTIFICATE-----\ngarbage\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := r.Reload(); err == nil {
		t.Fatal("Reload of a broken certificate succeeded")
	}
	_, cli = handshake(t, serverCfg, peer.ClientConfig("n1"))
	if cli.err != nil || Fingerprint(cli.state.PeerCertificates[0]) != newFP {
		t.Fatalf("after a failed reload: %v; want the previous certificate", cli.err)
	}
}

func TestReloadRefusesMismatch(t *testing.T) {
	ca := newCA(t)
	dir := nodeDir(t, ca, "n1")
	r := reloader(t, dir)
	key, _ := os.ReadFile(filepath.Join(dir, NodeKeyFile))
	// Another node's certificate copied over by mistake.
	other := nodeDir(t, ca, "n2")
	copyFile(t, filepath.Join(other, NodeCertFile), filepath.Join(dir, NodeCertFile))
	err := r.Reload()
	if err == nil {
		t.Fatal("Reload with a certificate that does not match the key succeeded")
	}
	assertNoKeyMaterial(t, err.Error(), key)
	copyFile(t, filepath.Join(other, NodeKeyFile), filepath.Join(dir, NodeKeyFile))
	if err := r.Reload(); err == nil || !strings.Contains(err.Error(), "restart to change identity") {
		t.Errorf("Reload with another node's pair: %v", err)
	}
	if r.NodeID() != "n1" {
		t.Errorf("NodeID %q after refused reloads", r.NodeID())
	}
	// A CA file that does not trust the node certificate.
	copyFile(t, filepath.Join(newCA(t), CAFile), filepath.Join(dir, CAFile))
	if err := r.Reload(); err == nil || !strings.Contains(err.Error(), "unknown authority") {
		t.Errorf("Reload with a CA that does not trust the node: %v", err)
	}
}

func TestReloadRotatedCA(t *testing.T) {
	oldCA, newCAdir := newCA(t), newCA(t)
	dir := nodeDir(t, oldCA, "n1")
	r := reloader(t, dir)
	fromOld := reloader(t, nodeDir(t, oldCA, "n2"))
	newDir := nodeDir(t, newCAdir, "n3")
	writeBundle(t, filepath.Join(newDir, CAFile), filepath.Join(oldCA, CAFile), filepath.Join(newCAdir, CAFile))
	fromNew := reloader(t, newDir)

	if srv, _ := handshake(t, r.ServerConfig(true), fromNew.ClientConfig("n1")); srv.err == nil {
		t.Fatal("a node from the new CA got in before the rotation")
	}
	writeBundle(t, filepath.Join(dir, CAFile), filepath.Join(oldCA, CAFile), filepath.Join(newCAdir, CAFile))
	if err := r.Reload(); err != nil {
		t.Fatalf("Reload with a CA bundle: %v", err)
	}
	for name, peer := range map[string]*Reloader{"old CA": fromOld, "new CA": fromNew} {
		srv, cli := handshake(t, r.ServerConfig(true), peer.ClientConfig("n1"))
		if srv.err != nil || cli.err != nil {
			t.Errorf("%s peer dialing in after rotation: server %v, client %v", name, srv.err, cli.err)
		}
		srv, cli = handshake(t, peer.ServerConfig(true), r.ClientConfig(""))
		if srv.err != nil || cli.err != nil {
			t.Errorf("dialing the %s peer after rotation: server %v, client %v", name, srv.err, cli.err)
		}
	}
}

func writeBundle(t *testing.T, dst string, srcs ...string) {
	t.Helper()
	var all []byte
	for _, s := range srcs {
		b, err := os.ReadFile(s)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	if err := os.WriteFile(dst, all, 0o644); err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	writeBundle(t, dst, src)
}

// TestReloadDuringHandshakes: reloads swap state under handshakes in
// flight (run with -race); every handshake sees one whole state.
func TestReloadDuringHandshakes(t *testing.T) {
	ca := newCA(t)
	dir := nodeDir(t, ca, "n1")
	r, peer := reloader(t, dir), reloader(t, nodeDir(t, ca, "n2"))
	stop := make(chan struct{})
	reloaded := make(chan error, 1)
	go func() {
		var err error
		for err == nil {
			select {
			case <-stop:
				reloaded <- nil
				return
			default:
			}
			err = r.Reload()
		}
		reloaded <- err
	}()
	for range 10 {
		if srv, cli := handshake(t, r.ServerConfig(true), peer.ClientConfig("n1")); srv.err != nil || cli.err != nil {
			t.Errorf("handshake during reloads: server %v, client %v", srv.err, cli.err)
		}
	}
	close(stop)
	if err := <-reloaded; err != nil {
		t.Errorf("Reload: %v", err)
	}
}
