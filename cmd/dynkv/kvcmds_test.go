package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/dynkv/dynkv/node"
)

// cliCluster runs an in-process cluster serving HTTP for the client
// commands, and returns its endpoints as --endpoints takes them.
func cliCluster(t *testing.T) (*node.LocalCluster, string) {
	t.Helper()
	c, err := node.StartLocalCluster(node.LocalClusterOptions{Nodes: 3, Dir: t.TempDir(), HTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("close cluster: %v", err)
		}
	})
	var eps []string
	for i := range c.Size() {
		eps = append(eps, "http://"+c.Addr(i))
	}
	return c, strings.Join(eps, ",")
}

type cliResult struct {
	stdout, stderr string
	code           int
}

// cli runs the dynkv binary with stdin and extra environment variables.
func cli(t *testing.T, stdin string, env []string, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append(cleanEnv(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := cliResult{stdout: stdout.String(), stderr: stderr.String(), code: cmd.ProcessState.ExitCode()}
	if ctx.Err() != nil {
		t.Fatalf("dynkv %q did not finish in %v", args, deadline)
	}
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("run dynkv %q: %v", args, err)
	}
	return r
}

// ok runs a command that must succeed.
func (r cliResult) ok(t *testing.T, args ...string) cliResult {
	t.Helper()
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("dynkv %q: exit %d\nstdout: %s\nstderr: %s", args, r.code, r.stdout, r.stderr)
	}
	return r
}

// failsWith checks a failed command: its exit code and one line on stderr
// containing every one of want.
func (r cliResult) failsWith(t *testing.T, code int, want ...string) {
	t.Helper()
	if r.code != code || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("exit %d, stderr %q; want exit %d and one line", r.code, r.stderr, code)
	}
	for _, w := range want {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("stderr %q does not contain %q", r.stderr, w)
		}
	}
}

var contextLine = regexp.MustCompile(`\(context (\S+), served by (n\d)\)\n$`)

type getOutput struct {
	Key      string `json:"key"`
	Found    bool   `json:"found"`
	Node     string `json:"node"`
	Context  string `json:"context"`
	Siblings []struct {
		Value       []byte `json:"value"`
		ContentType string `json:"content_type"`
		Modified    string `json:"modified"`
	} `json:"siblings"`
}

// TestCLIKeys drives get, put and delete through the binary: values from
// the argument and stdin, siblings shown numbered and resolved with
// --context, deletes with and without --context, and the JSON and raw
// outputs.
func TestCLIKeys(t *testing.T) {
	t.Parallel()
	_, eps := cliCluster(t)
	env := []string{"DYNKV_ENDPOINTS=" + eps}
	run := func(stdin string, args ...string) cliResult { t.Helper(); return cli(t, stdin, env, args...) }

	// In this order: cliKeysJSON and cliKeysDelete find the key greeting
	// as the steps before them left it.
	cliKeysPutGet(t, run)
	cliKeysTTL(t, run)
	cliKeysJSON(t, run)
	cliKeysBinary(t, run)
	cliKeysDelete(t, run)
	cliKeysOddKey(t, run)
}

// cliRun runs the dynkv binary against TestCLIKeys's cluster.
type cliRun func(stdin string, args ...string) cliResult

// cliKeysPutGet: put prints the new context, get the value and that context,
// and two puts with one context make siblings.
func cliKeysPutGet(t *testing.T, run cliRun) {
	// put prints the new context alone, for scripts.
	put := run("", "put", "greeting", "hello", "--content-type", "text/plain").ok(t)
	first := strings.TrimSpace(put.stdout)
	if first == "" || strings.Contains(first, " ") {
		t.Fatalf("put printed %q, want one context token", put.stdout)
	}
	get := run("", "get", "greeting").ok(t)
	m := contextLine.FindStringSubmatch(get.stdout)
	if !strings.HasPrefix(get.stdout, "hello\n") || m == nil || m[1] != first {
		t.Fatalf("get printed %q; want the value, then the context %s", get.stdout, first)
	}

	// Two writes with the same context are concurrent: siblings.
	run("", "put", "--context", first, "greeting", "hola", "--content-type", "text/plain").ok(t)
	run("bonjour", "put", "greeting", "--context="+first).ok(t) // value from stdin
	get = run("", "get", "greeting").ok(t)
	for _, want := range []string{"2 siblings", "[1] ", "[2] ", "text/plain, 4 bytes", "application/octet-stream, 7 bytes", "\nhola\n", "\nbonjour\n"} {
		if !strings.Contains(get.stdout, want) {
			t.Errorf("get with siblings printed %q; missing %q", get.stdout, want)
		}
	}
}

func cliKeysTTL(t *testing.T, run cliRun) {
	// --ttl: the siblings' listing shows when each expires.
	run("", "put", "session", "a", "--ttl", "1h").ok(t)
	run("", "put", "session", "b", "--ttl", "30m").ok(t)
	if get := run("", "get", "session").ok(t); strings.Count(get.stdout, ", expires 20") != 2 {
		t.Errorf("get of TTL siblings printed %q; want each one's expiry", get.stdout)
	}
}

// cliKeysJSON: get -o json shows the siblings left by cliKeysPutGet, -o raw
// refuses them, and a put with the JSON's context resolves them.
func cliKeysJSON(t *testing.T, run cliRun) {
	var g getOutput
	js := run("", "get", "-o", "json", "greeting").ok(t)
	if err := json.Unmarshal([]byte(js.stdout), &g); err != nil {
		t.Fatalf("get -o json: %v\n%s", err, js.stdout)
	}
	var values []string
	for _, s := range g.Siblings {
		values = append(values, string(s.Value))
	}
	slices.Sort(values)
	if g.Key != "greeting" || !g.Found || g.Node == "" || g.Context == "" || !slices.Equal(values, []string{"bonjour", "hola"}) {
		t.Fatalf("get -o json: %+v", g)
	}
	if r := run("", "get", "greeting", "-o", "raw"); r.code != 1 || !strings.Contains(r.stderr, "2 siblings") {
		t.Errorf("get -o raw with siblings: exit %d, stderr %q", r.code, r.stderr)
	}

	// Resolving with the context of the read that saw both replaces them.
	run("", "put", "greeting", "hola, bonjour", "--context", g.Context, "-o", "json").ok(t)
	if raw := run("", "get", "-o=raw", "greeting").ok(t); raw.stdout != "hola, bonjour" {
		t.Errorf("after resolving: %q", raw.stdout)
	}
}

func cliKeysBinary(t *testing.T, run cliRun) {
	// Binary values are described in text and exact in raw.
	run("\x00\x01\xff", "put", "bin", "-").ok(t)
	if r := run("", "get", "bin").ok(t); !strings.HasPrefix(r.stdout, "<3 bytes of binary data") {
		t.Errorf("binary get: %q", r.stdout)
	}
	if r := run("", "get", "bin", "-o", "raw").ok(t); r.stdout != "\x00\x01\xff" {
		t.Errorf("binary raw get: %q", r.stdout)
	}
}

func cliKeysDelete(t *testing.T, run cliRun) {
	// Delete without --context deletes what a read sees; the deleted key is
	// an error (exit 1) that still gives its context.
	if r := run("", "delete", "greeting").ok(t); !strings.Contains(r.stdout, `deleted "greeting"`) {
		t.Errorf("delete printed %q", r.stdout)
	}
	run("", "get", "greeting").failsWith(t, 1, "not_found", "deleted", "its context: ")
	if r := run("", "get", "greeting", "-o", "json"); r.code != 1 || !strings.Contains(r.stdout, `"found": false`) {
		t.Errorf("get -o json of a deleted key: exit %d, stdout %q", r.code, r.stdout)
	}
	run("", "get", "never-written").failsWith(t, 1, `dynkv get "never-written": not_found`)

	// Delete with --context removes what that context saw, not a write it
	// did not see.
	ctx1 := strings.TrimSpace(run("", "put", "k", "one").ok(t).stdout)
	run("", "put", "k", "concurrent").ok(t)
	run("", "delete", "k", "--context", ctx1).ok(t)
	if r := run("", "get", "k", "-o", "raw").ok(t); r.stdout != "concurrent" {
		t.Errorf("after deleting only what ctx1 saw: %q", r.stdout)
	}
}

func cliKeysOddKey(t *testing.T, run cliRun) {
	// Keys are any bytes: slashes and spaces travel escaped.
	run("", "put", "a/b c?", "odd").ok(t)
	if r := run("", "get", "a/b c?", "-o", "raw").ok(t); r.stdout != "odd" {
		t.Errorf("odd key: %q", r.stdout)
	}
}

// TestCLIFailover: with the first endpoint dead the commands still work.
func TestCLIFailover(t *testing.T) {
	t.Parallel()
	c, eps := cliCluster(t)
	c.Kill(0)
	env := []string{"DYNKV_ENDPOINTS=" + eps}
	r := cli(t, "", env, "put", "k", "v", "-o", "json").ok(t)
	if strings.Contains(r.stdout, `"n1"`) {
		t.Errorf("served by the dead node: %s", r.stdout)
	}
	if r := cli(t, "", env, "get", "k", "-o", "raw").ok(t); r.stdout != "v" {
		t.Errorf("get: %q", r.stdout)
	}
}

// TestCLIMembersRing checks the cluster views: aligned tables and JSON.
func TestCLIMembersRing(t *testing.T) {
	t.Parallel()
	_, eps := cliCluster(t)
	flags := []string{"--endpoints", eps}

	r := cli(t, "", nil, append([]string{"members"}, flags...)...).ok(t)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "ID") {
		t.Fatalf("members:\n%s", r.stdout)
	}
	col := strings.Index(lines[0], "STATUS")
	for i, l := range lines[1:] {
		if id := "n" + string(rune('1'+i)); !strings.HasPrefix(l, id+" ") || !strings.HasPrefix(l[col:], "alive ") {
			t.Errorf("members row %q is not aligned under %q", l, lines[0])
		}
	}
	var ms []struct{ ID, Status string }
	if err := json.Unmarshal([]byte(cli(t, "", nil, append([]string{"members", "-o", "json"}, flags...)...).ok(t).stdout), &ms); err != nil || len(ms) != 3 {
		t.Fatalf("members -o json: %v %+v", err, ms)
	}

	r = cli(t, "", nil, append([]string{"ring"}, flags...)...).ok(t)
	if !strings.HasPrefix(r.stdout, "256 partitions, N=3, 3 members\n") {
		t.Errorf("ring:\n%s", r.stdout)
	}
	leads := 0
	for _, l := range strings.Split(r.stdout, "\n") {
		var (
			id         string
			lead, repl int
			share      float64
		)
		if n, _ := fmt.Sscanf(l, "%s %d %d %f%%", &id, &lead, &repl, &share); n == 4 {
			leads += lead
			if repl != 256 {
				t.Errorf("with N=3 and 3 nodes, %s replicates %d partitions, want 256", id, repl)
			}
		}
	}
	if leads != 256 {
		t.Errorf("leads add up to %d, want 256:\n%s", leads, r.stdout)
	}
	if r := cli(t, "", nil, append([]string{"ring", "--partitions"}, flags...)...).ok(t); strings.Count(r.stdout, "\n") != 256+3 {
		t.Errorf("ring --partitions printed %d lines", strings.Count(r.stdout, "\n"))
	}
	r = cli(t, "", nil, append([]string{"ring", "--key", "greeting", "-o", "json"}, flags...)...).ok(t)
	var p struct {
		Key            string
		Partition      int
		PreferenceList []string `json:"preference_list"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &p); err != nil || p.Key != "greeting" || len(p.PreferenceList) != 3 {
		t.Errorf("ring --key -o json: %v %+v", err, p)
	}
	if r := cli(t, "", nil, append([]string{"ring", "--key", "greeting"}, flags...)...).ok(t); !strings.Contains(r.stdout, "preference list") {
		t.Errorf("ring --key:\n%s", r.stdout)
	}
}

// TestCLIErrors: bad usage exits 2, failures exit 1, each with one line.
func TestCLIErrors(t *testing.T) {
	t.Parallel()
	dead := "http://127.0.0.1:1"
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"get"}, 2, "missing argument"},
		{[]string{"get", "a", "b"}, 2, `unexpected argument "b"`},
		{[]string{"put", "k", "v", "extra"}, 2, `unexpected argument "extra"`},
		{[]string{"get", "k", "--r", "lots"}, 2, "--r"},
		{[]string{"get", "k", "-o", "yaml"}, 2, "--output"},
		{[]string{"put", "k", "v", "--context", "not a token"}, 2, "--context"},
		{[]string{"members", "--frob"}, 2, "--frob"},
		{[]string{"get", "k", "--endpoints", "ftp://x"}, 2, "scheme"},
		{[]string{"get", "k", "--endpoints", dead}, 1, "no endpoint reachable"},
		{[]string{"members", "--endpoints", dead, "--timeout", "2s"}, 1, "dynkv members: no endpoint reachable"},
		{[]string{"get", strings.Repeat("k", 1025), "--endpoints", dead}, 1, "bad request"},
	} {
		cli(t, "", nil, tc.args...).failsWith(t, tc.code, tc.want)
	}
	if r := cli(t, "", nil, "put", "--help"); r.code != 0 || !strings.Contains(r.stdout, "--context") || !strings.Contains(r.stdout, "DYNKV_ENDPOINTS") {
		t.Errorf("put --help: exit %d\n%s", r.code, r.stdout)
	}
}
