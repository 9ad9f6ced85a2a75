package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// serveNode is one `dynkv serve` process's settings, kept across restarts.
type serveNode struct {
	id, url, gossip string
	args            []string
	p               *proc
}

func newServeNode(t *testing.T, dir, id string, httpPort, gossipPort int, extra ...string) *serveNode {
	s := &serveNode{
		id:     id,
		url:    fmt.Sprintf("http://127.0.0.1:%d", httpPort),
		gossip: fmt.Sprintf("127.0.0.1:%d", gossipPort),
	}
	s.args = append([]string{"serve", "--node-id", id, "--data-dir", filepath.Join(dir, id),
		"--http-addr", fmt.Sprintf("127.0.0.1:%d", httpPort), "--gossip-addr", s.gossip,
		"--gossip-profile", "fast"}, extra...)
	return s
}

func (s *serveNode) start(t *testing.T) {
	t.Helper()
	s.p = startProc(t, s.id, nil, s.args...)
}

// TestServeCluster runs three serve processes that find each other by
// gossip, then kills one with SIGKILL: quorum requests still succeed through
// the survivors, which come to see the dead node as failed.
func TestServeCluster(t *testing.T) {
	t.Parallel()
	nodes := startServeCluster(t)
	n1, n2, n3 := nodes[0], nodes[1], nodes[2]

	putEventually(t, n1.url, "k1", "v1")
	mustGet(t, n2.url, "k1", "v1")
	mustGet(t, n3.url, "k1", "v1")

	n3.p.signal(t, syscall.SIGKILL)
	n3.p.wait(t)
	mustPut(t, n1.url, "k2", "v2")
	mustGet(t, n2.url, "k2", "v2")
	mustGet(t, n2.url, "k1", "v1")

	failed := map[string]string{"n1": "alive", "n2": "alive", "n3": "failed"}
	waitMembers(t, n1.url, failed)
	waitMembers(t, n2.url, failed)
}

// TestServeSIGTERMRestart checks that SIGTERM shuts a node down cleanly
// (exit 0, same incarnation after restart) and that it restarts on its data
// directory with its data.
func TestServeSIGTERMRestart(t *testing.T) {
	t.Parallel()
	ports := freePorts(t, 2)
	s := newServeNode(t, t.TempDir(), "solo", ports[0], ports[1], "--n", "1", "--r", "1", "--w", "1")

	s.start(t)
	waitMembers(t, s.url, map[string]string{"solo": "alive"})
	putEventually(t, s.url, "k", "before restart")
	actor := healthActor(t, s.url)
	s.p.signal(t, syscall.SIGTERM)
	if code := s.p.wait(t); code != 0 {
		t.Fatalf("serve exited with %d after SIGTERM, want 0", code)
	}

	s.start(t)
	waitMembers(t, s.url, map[string]string{"solo": "alive"})
	mustGet(t, s.url, "k", "before restart")
	if got := healthActor(t, s.url); got != actor {
		t.Errorf("actor changed across a clean restart: %q then %q (shutdown was not recorded as clean)", actor, got)
	}
	s.p.signal(t, syscall.SIGTERM)
	if code := s.p.wait(t); code != 0 {
		t.Fatalf("serve exited with %d after the second SIGTERM, want 0", code)
	}
}

func healthActor(t *testing.T, base string) string {
	t.Helper()
	r, err := request(http.MethodGet, base+"/healthz", "")
	var h struct{ Actor string }
	if err != nil || r.status != http.StatusOK || json.Unmarshal([]byte(r.body), &h) != nil || h.Actor == "" {
		t.Fatalf("GET %s/healthz: %d %q %v", base, r.status, r.body, err)
	}
	return h.Actor
}

var (
	devURLLine  = regexp.MustCompile(`(?m)^\s+(n\d+)\s+(http://\S+)$`)
	devDataLine = regexp.MustCompile(`(?m)^data\s+(\S+)`)
)

// TestDev runs `dynkv dev`, uses the cluster it prints, and checks that
// SIGINT stops it with exit 0 and removes its temporary directory.
func TestDev(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	base := freeBasePort(t, 3)
	p := startProc(t, "dev", []string{"TMPDIR=" + tmp}, "dev", "--base-port", strconv.Itoa(base), "--nodes", "3")

	var urls []string
	var dataDir string
	waitFor(t, "dev to print its node URLs", func() (bool, string) {
		if p.exited() {
			t.Fatalf("dev exited early with %d:\n%s%s", p.cmd.ProcessState.ExitCode(), p.stdout, p.stderr)
		}
		out := p.stdout.String()
		urls = urls[:0]
		for _, m := range devURLLine.FindAllStringSubmatch(out, -1) {
			urls = append(urls, m[2])
		}
		if m := devDataLine.FindStringSubmatch(out); m != nil {
			dataDir = m[1]
		}
		return len(urls) == 3 && dataDir != "", out
	})
	if want := fmt.Sprintf("http://127.0.0.1:%d", base); urls[0] != want {
		t.Errorf("first URL %q, want %q", urls[0], want)
	}
	if !strings.HasPrefix(dataDir, tmp) {
		t.Errorf("data directory %q is not under TMPDIR %q", dataDir, tmp)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "n1")); err != nil {
		t.Errorf("n1's data directory: %v", err)
	}

	putEventually(t, urls[0], "greeting", "hello")
	mustGet(t, urls[2], "greeting", "hello")

	before := len(p.stderr.String())
	p.signal(t, syscall.SIGINT)
	if code := p.wait(t); code != 0 {
		t.Fatalf("dev exited with %d after SIGINT, want 0", code)
	}
	if _, err := os.Stat(dataDir); !os.IsNotExist(err) {
		t.Errorf("temporary directory %s still there after exit (stat: %v)", dataDir, err)
	}
	if !strings.Contains(p.stdout.String(), "stopped") {
		t.Errorf("dev did not report stopping:\n%s", p.stdout)
	}
	for line := range strings.SplitSeq(p.stdout.String(), "\n") {
		if strings.Contains(line, "-X PUT") && !strings.Contains(line, "Content-Type:") {
			t.Errorf("dev suggests a curl PUT without a Content-Type (curl would send a form's): %s", line)
		}
	}
	// A normal stop is quiet: no node warns that it did not leave. (Other
	// warnings, of a failure detector on a loaded machine say, are real.)
	if stop := p.stderr.String()[before:]; strings.Contains(stop, "Shutdown without a Leave") {
		t.Errorf("dev warned on a normal Ctrl-C:\n%s", stop)
	}
}

// TestUsageErrors checks the binary's exit codes for bad usage: 2 with a
// single line on stderr.
func TestUsageErrors(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"frobnicate"}, {"serve", "--n", "x"}, {"serve", "--log-level", "loud"}, {"dev", "--nodes", "0"}} {
		p := startProc(t, args[0], nil, args...)
		if code := p.wait(t); code != 2 {
			t.Errorf("%q: exit code %d, want 2", args, code)
		}
		if stderr := p.stderr.String(); strings.Count(stderr, "\n") != 1 {
			t.Errorf("%q: stderr is not one line: %q", args, stderr)
		}
	}
	p := startProc(t, "env", []string{"DYNKV_R=many"}, "serve", "--data-dir", t.TempDir(), "--http-addr", "127.0.0.1:1")
	if code := p.wait(t); code != 2 || !strings.Contains(p.stderr.String(), "DYNKV_R") {
		t.Errorf("DYNKV_R=many: exit code %d, stderr %q; want 2 naming DYNKV_R", code, p.stderr)
	}
}

// TestDevBusyPort checks that dev refuses a taken port, naming the flag
// that moves it.
func TestDevBusyPort(t *testing.T) {
	t.Parallel()
	base := freeBasePort(t, 2)
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", base+gossipPortOffset+1))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	p := startProc(t, "dev", []string{"TMPDIR=" + t.TempDir()}, "dev", "--nodes", "2", "--base-port", strconv.Itoa(base))
	if code := p.wait(t); code != 1 || !strings.Contains(p.stderr.String(), "--base-port") {
		t.Errorf("exit code %d, stderr %q; want 1 naming --base-port", code, p.stderr)
	}
}

// startServeCluster starts three `dynkv serve` processes, n1 the seed
// that n2 and n3 join, each with the flags extra, and waits until each
// sees all three alive.
func startServeCluster(t *testing.T, extra ...string) []*serveNode {
	t.Helper()
	dir := t.TempDir()
	ports := freePorts(t, 6)
	n1 := newServeNode(t, dir, "n1", ports[0], ports[1], extra...)
	n2 := newServeNode(t, dir, "n2", ports[2], ports[3], append([]string{"--join", n1.gossip}, extra...)...)
	n3 := newServeNode(t, dir, "n3", ports[4], ports[5], append([]string{"--join", n1.gossip}, extra...)...)
	// The seed must be gossiping before anyone joins it; its member list
	// shows itself once it is.
	n1.start(t)
	waitMembers(t, n1.url, map[string]string{"n1": "alive"})
	n2.start(t)
	n3.start(t)
	nodes := []*serveNode{n1, n2, n3}
	all := map[string]string{"n1": "alive", "n2": "alive", "n3": "alive"}
	for _, n := range nodes {
		waitMembers(t, n.url, all)
	}
	return nodes
}
