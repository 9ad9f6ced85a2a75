package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binary is the dynkv executable TestMain builds once for the end-to-end
// tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "dynkv-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "dynkv")
	build := exec.Command("go", "build", "-o", binary, ".")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const (
	deadline    = 90 * time.Second // bound on every wait in these tests: against hangs, not a speed check (a 100k-key backup under all of go test ./... on 2 cores has taken over 30 s)
	pollEvery   = 50 * time.Millisecond
	httpTimeout = 10 * time.Second
)

// syncBuffer collects a process's output while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// proc is a running dynkv process.
type proc struct {
	name           string
	cmd            *exec.Cmd
	stdout, stderr *syncBuffer
	done           chan struct{} // closed once the process has exited
}

// startProc runs the binary with args. The process is killed in cleanup
// whatever the test's outcome, and its output logged if the test failed.
func startProc(t *testing.T, name string, env []string, args ...string) *proc {
	t.Helper()
	return startProcOf(t, binary, name, env, args...)
}

// startProcOf is startProc of another build of dynkv.
func startProcOf(t *testing.T, bin, name string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, cmd: exec.Command(bin, args...), stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	p.cmd.Env = append(cleanEnv(), env...)
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		select {
		case <-p.done:
		case <-time.After(deadline):
			t.Errorf("%s did not exit after SIGKILL", name)
		}
		if t.Failed() {
			t.Logf("%s %q\n--- stdout ---\n%s\n--- stderr (tail) ---\n%s", name, args, p.stdout, tail(p.stderr.String(), 4000))
		}
	})
	return p
}

// cleanEnv is this process's environment without DYNKV_ variables, so the
// user's settings cannot leak into the tests.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, envPrefix) {
			env = append(env, kv)
		}
	}
	return env
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *proc) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %s: %v", p.name, err)
	}
}

// wait waits for the process to exit and returns its exit code.
func (p *proc) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(deadline):
		t.Fatalf("%s still running after %v", p.name, deadline)
		return -1
	}
}

// waitFor polls cond until it holds, failing the test at the deadline with
// cond's last description of what it saw.
func waitFor(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	end := time.Now().Add(deadline)
	for {
		ok, saw := cond()
		if ok {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("waited %v for %s; last saw: %s", deadline, what, saw)
		}
		time.Sleep(pollEvery)
	}
}

// freePorts returns n distinct loopback ports, each free for both TCP and
// UDP (gossip needs both).
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	var held []io.Closer
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for tries := 0; len(ports) < n; tries++ {
		if tries == 100 {
			t.Fatal("no free ports")
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, l)
		port := l.Addr().(*net.TCPAddr).Port
		if u, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port))); err == nil {
			held = append(held, u)
			ports = append(ports, port)
		}
	}
	return ports
}

// freeBasePort returns a port base such that base+i (TCP) and
// base+1000+i (TCP and UDP) are free for i < n, as dynkv dev needs. It
// searches below the kernel's ephemeral range so that no outgoing
// connection takes one of the ports before dev binds it.
func freeBasePort(t *testing.T, n int) int {
	t.Helper()
	for range 100 {
		base := 20000 + rand.N(11000)
		if portsFree(base, n) {
			return base
		}
	}
	t.Fatal("no free port range")
	return 0
}

func portsFree(base, n int) bool {
	var held []io.Closer
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	addr := func(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }
	for i := range n {
		for _, port := range []int{base + i, base + gossipPortOffset + i} {
			l, err := net.Listen("tcp", addr(port))
			if err != nil {
				return false
			}
			held = append(held, l)
		}
		u, err := net.ListenPacket("udp", addr(base+gossipPortOffset+i))
		if err != nil {
			return false
		}
		held = append(held, u)
	}
	return true
}

var client = &http.Client{Timeout: httpTimeout}

type response struct {
	status int
	body   string
}

func request(method, url, body string) (response, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return response{}, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return response{resp.StatusCode, string(b)}, err
}

// mustPut writes value and fails the test unless it is acknowledged.
func mustPut(t *testing.T, base, key, value string) {
	t.Helper()
	r, err := request(http.MethodPut, base+"/kv/"+key, value)
	if err != nil || r.status != http.StatusNoContent {
		t.Fatalf("PUT %s/kv/%s: %d %q %v", base, key, r.status, r.body, err)
	}
}

// putEventually is the one request allowed to retry: right after start-up a
// node may not have built its ring from gossip yet.
func putEventually(t *testing.T, base, key, value string) {
	t.Helper()
	waitFor(t, "a first PUT to "+base+" to succeed", func() (bool, string) {
		r, err := request(http.MethodPut, base+"/kv/"+key, value)
		return err == nil && r.status == http.StatusNoContent, fmt.Sprintf("%d %q %v", r.status, r.body, err)
	})
}

func mustGet(t *testing.T, base, key, want string) {
	t.Helper()
	r, err := request(http.MethodGet, base+"/kv/"+key, "")
	if err != nil || r.status != http.StatusOK || r.body != want {
		t.Fatalf("GET %s/kv/%s: %d %q %v; want 200 %q", base, key, r.status, r.body, err, want)
	}
}

type member struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

// members returns id → status as the node at base reports them.
func members(base string) (map[string]string, error) {
	r, err := request(http.MethodGet, base+"/cluster/members", "")
	if err != nil {
		return nil, err
	}
	if r.status != http.StatusOK {
		return nil, fmt.Errorf("status %d: %s", r.status, r.body)
	}
	var ms []member
	if err := json.Unmarshal([]byte(r.body), &ms); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, m := range ms {
		out[m.ID] = m.Status
	}
	return out, nil
}

// waitMembers waits until the node at base reports exactly want.
func waitMembers(t *testing.T, base string, want map[string]string) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%s to report members %v", base, want), func() (bool, string) {
		got, err := members(base)
		if err != nil {
			return false, err.Error()
		}
		return fmt.Sprint(got) == fmt.Sprint(want), fmt.Sprint(got)
	})
}
