package main

import (
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// startDevCluster runs `dynkv dev` with three nodes and returns their URLs.
func startDevCluster(t *testing.T) []string {
	t.Helper()
	base := freeBasePort(t, 3)
	p := startProc(t, "dev", []string{"TMPDIR=" + t.TempDir()}, "dev", "--base-port", strconv.Itoa(base), "--nodes", "3")
	var urls []string
	waitFor(t, "dev to print its node URLs", func() (bool, string) {
		if p.exited() {
			t.Fatalf("dev exited early with %d:\n%s%s", p.cmd.ProcessState.ExitCode(), p.stdout, p.stderr)
		}
		out := p.stdout.String()
		urls = urls[:0]
		for _, m := range devURLLine.FindAllStringSubmatch(out, -1) {
			urls = append(urls, m[2])
		}
		return len(urls) == 3, out
	})
	return urls
}

// runLoadtestProc runs `dynkv loadtest` to completion and returns it.
func runLoadtestProc(t *testing.T, env []string, args ...string) (*proc, int) {
	t.Helper()
	p := startProc(t, "loadtest", env, append([]string{"loadtest"}, args...)...)
	return p, p.wait(t)
}

// TestLoadtest runs the load generator binary against a dev cluster: a
// verified workload-A run with progress and the text report, then a
// workload configured from the environment reporting JSON.
func TestLoadtest(t *testing.T) {
	t.Parallel()
	endpoints := strings.Join(startDevCluster(t), ",")
	contexts := filepath.Join(t.TempDir(), "contexts")

	p, code := runLoadtestProc(t, nil, "--endpoints", endpoints, "--workload", "a", "--keys", "200",
		"--concurrency", "8", "--duration", "1s", "--progress-interval", "200ms", "--preload", "--verify",
		"--key-prefix", "e2e-a-", "--value-size", "512", "--contexts", contexts)
	out, progress := p.stdout.String(), p.stderr.String()
	if code != 0 {
		t.Fatalf("loadtest exited with %d\n--- stdout ---\n%s\n--- stderr ---\n%s", code, out, progress)
	}
	for _, want := range []string{"dynkv: workload A, zipfian keys (200", "preload: 200 ops", "run: ", "p50 ms", "p99.9 ms",
		"read", "update", "returned siblings", "verify PASSED", " 0 lost"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(progress, "[run ") {
		t.Errorf("no progress lines on stderr:\n%s", progress)
	}

	env := []string{"DYNKV_LOADTEST_ENDPOINTS=" + endpoints, "DYNKV_LOADTEST_WORKLOAD=C", "DYNKV_LOADTEST_OPS=500", "DYNKV_LOADTEST_DURATION=0",
		"DYNKV_LOADTEST_JSON=true", "DYNKV_LOADTEST_DISTRIBUTION=uniform", "DYNKV_LOADTEST_KEYS=200", "DYNKV_LOADTEST_KEY_PREFIX=e2e-a-",
		"DYNKV_LOADTEST_CONCURRENCY=4", "DYNKV_LOADTEST_R=all"}
	p, code = runLoadtestProc(t, env, "--progress-interval", "0")
	if code != 0 {
		t.Fatalf("loadtest from the environment exited with %d:\n%s%s", code, p.stdout, p.stderr)
	}
	var rep struct {
		Driver, Workload, Distribution string
		Run                            struct {
			Ops, Errors   int64
			ReadsNotFound int64 `json:"reads_not_found"`
			Operations    []struct {
				Op        string
				LatencyMS map[string]float64 `json:"latency_ms"`
			}
		}
	}
	if err := json.Unmarshal([]byte(p.stdout.String()), &rep); err != nil {
		t.Fatalf("--json output is not JSON: %v\n%s", err, p.stdout)
	}
	if rep.Driver != "dynkv" || rep.Workload != "C" || rep.Distribution != "uniform" || rep.Run.Ops != 500 ||
		rep.Run.Errors != 0 || rep.Run.ReadsNotFound != 0 || len(rep.Run.Operations) != 1 || rep.Run.Operations[0].Op != "read" {
		t.Errorf("JSON report: %+v", rep)
	}
	if p.stderr.String() != "" {
		t.Errorf("--progress-interval 0 still printed: %q", p.stderr)
	}

	// With the contexts the first run saved, updates need no read first.
	p, code = runLoadtestProc(t, []string{"DYNKV_LOADTEST_CONTEXTS=" + contexts}, "--endpoints", endpoints, "--workload", "write",
		"--keys", "200", "--key-prefix", "e2e-a-", "--ops", "300", "--duration", "0", "--json", "--concurrency", "4")
	var wrep struct {
		Run struct {
			Ops              int64
			UpdatesReadFirst int64 `json:"updates_read_first"`
		}
	}
	if err := json.Unmarshal([]byte(p.stdout.String()), &wrep); code != 0 || err != nil || wrep.Run.Ops != 300 || wrep.Run.UpdatesReadFirst != 0 {
		t.Errorf("write run with saved contexts: exit %d, %+v, %v\n%s%s", code, wrep, err, p.stdout, p.stderr)
	}
}

// TestLoadtestRedis runs the same generator against a real redis-server.
func TestLoadtestRedis(t *testing.T) {
	t.Parallel()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("redis-server is not installed, and CI=true: .ci/run installs it")
		}
		t.Skip("redis-server is not installed")
	}
	port := freePorts(t, 1)[0]
	redis := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir())
	if err := redis.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { redis.Wait(); close(exited) }()
	t.Cleanup(func() { redis.Process.Kill(); <-exited })
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	waitFor(t, "redis-server to listen", func() (bool, string) {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return false, err.Error()
		}
		c.Close()
		return true, ""
	})
	p, code := runLoadtestProc(t, nil, "--driver", "redis", "--endpoints", addr, "--workload", "F", "--keys", "100",
		"--concurrency", "1", "--ops", "1000", "--duration", "0", "--preload", "--verify")
	if code != 0 || !strings.Contains(p.stdout.String(), "redis: workload F") || !strings.Contains(p.stdout.String(), "rmw") ||
		!strings.Contains(p.stdout.String(), "verify PASSED") {
		t.Fatalf("loadtest --driver redis exited with %d:\n%s%s", code, p.stdout, p.stderr)
	}
}

// TestLoadtestErrors: bad usage exits 2 with one line; an unreachable
// store exits 1 before any load.
func TestLoadtestErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		env  []string
		args []string
		want string
	}{
		{nil, []string{"--workload", "Z"}, "--workload"},
		{nil, []string{"--driver", "redis", "--r", "2"}, "--r"},
		{nil, []string{"--w", "most"}, "w="},
		{nil, []string{"--concurrency", "0"}, "concurrency"},
		{nil, []string{"--value-size", "8", "--verify"}, "value size"},
		{nil, []string{"--duration", "0"}, "nothing to run"},
		{[]string{"DYNKV_LOADTEST_CONCURRENCY=many"}, nil, "DYNKV_LOADTEST_CONCURRENCY"},
	} {
		p, code := runLoadtestProc(t, tc.env, tc.args...)
		stderr := p.stderr.String()
		if code != 2 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v %q: exit %d, stderr %q; want 2 and one line naming %s", tc.env, tc.args, code, stderr, tc.want)
		}
	}
	dead := freePorts(t, 1)[0]
	p, code := runLoadtestProc(t, nil, "--endpoints", "127.0.0.1:"+strconv.Itoa(dead), "--duration", "1s")
	if code != 1 || !strings.Contains(p.stderr.String(), "not reachable") || p.stdout.String() != "" {
		t.Errorf("unreachable endpoint: exit %d, stdout %q, stderr %q; want 1 and no report", code, p.stdout, p.stderr)
	}
}
