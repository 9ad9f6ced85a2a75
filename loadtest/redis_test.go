package loadtest

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// startRedis runs a throwaway redis-server on a free loopback port. Without
// Redis the test skips on a developer's machine and fails in CI (CI=true),
// whose script installs it.
func startRedis(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("redis-server is not installed, and CI=true: .ci/run installs it")
		}
		t.Skip("redis-server is not installed (apt-get install redis-server)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_, port, _ := net.SplitHostPort(addr)
	l.Close()
	var out bytes.Buffer
	cmd := exec.Command(bin, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir())
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("redis-server output:\n%s", out.String())
		}
	})
	d, err := NewRedis(RedisOptions{Addrs: []string{addr}, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := d.Check(context.Background())
		if err == nil {
			return addr
		}
		select {
		case <-exited:
			t.Fatalf("redis-server exited: %s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server did not answer PING within 10s: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRedisDriver(t *testing.T) {
	t.Parallel()
	addr := startRedis(t)
	ctx := context.Background()
	d, err := NewRedis(RedisOptions{Addrs: []string{addr}})
	if err != nil {
		t.Fatal(err)
	}
	cl, _ := d.NewClient(0)
	defer cl.Close()
	var rr ReadResult
	var wr WriteResult
	if err := cl.Read(ctx, []byte("missing"), &rr); err != nil || rr.Found {
		t.Fatalf("GET of a missing key: found %v, err %v", rr.Found, err)
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB, beyond the read buffer
	for _, v := range [][]byte{[]byte("v1"), {}, []byte("with\r\nCRLF"), big} {
		if err := cl.Write(ctx, []byte("k"), v, []byte("ignored"), &wr); err != nil || len(wr.Token) != 0 {
			t.Fatalf("SET of %d bytes: token %q, err %v", len(v), wr.Token, err)
		}
		if err := cl.Read(ctx, []byte("k"), &rr); err != nil || !rr.Found || len(rr.Values) != 1 || !bytes.Equal(rr.Values[0], v) {
			t.Fatalf("GET after SET of %d bytes: found %v, %d values, err %v", len(v), rr.Found, len(rr.Values), err)
		}
	}
	// A Redis error reply becomes a kind named after its prefix.
	rc := cl.(*redisClient)
	if err := rc.command(ctx, "LPUSH", []byte("list"), []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := cl.Read(ctx, []byte("list"), &rr); ErrorKind(err) != "redis_WRONGTYPE" {
		t.Errorf("GET of a list: %v (kind %q), want redis_WRONGTYPE", err, ErrorKind(err))
	}
	// The connection is still usable after an error reply.
	if err := cl.Read(ctx, []byte("k"), &rr); err != nil {
		t.Errorf("GET after an error reply: %v", err)
	}
}

// TestRedisVerify: one client's writes all survive in Redis; FLUSHALL
// behind the generator's back loses them, and verification says so.
func TestRedisVerify(t *testing.T) {
	t.Parallel()
	addr := startRedis(t)
	d, _ := NewRedis(RedisOptions{Addrs: []string{addr}})
	cfg := testConfig(WorkloadA)
	cfg.Concurrency, cfg.Verify = 1, true
	g, rep := run(t, cfg, d)
	if rep.Driver != "redis" || rep.Run.Errors != 0 || rep.Run.UpdatesReadFirst != 0 {
		t.Fatalf("run: %+v", rep.Run)
	}
	ctx := context.Background()
	if v, err := g.Verify(ctx); err != nil || !v.Passed {
		t.Fatalf("verify: %+v, %v", v, err)
	}
	cl, _ := d.NewClient(0)
	defer cl.Close()
	if err := cl.(*redisClient).command(ctx, "FLUSHALL"); err != nil {
		t.Fatal(err)
	}
	if v, err := g.Verify(ctx); err != nil || v.Passed || v.Lost != v.WritesAcknowledged || v.Lost == 0 {
		t.Fatalf("verify after FLUSHALL: %+v, %v; want every acknowledged write lost", v, err)
	}
}

// TestRedisProtocolErrors: a server that answers garbage or hangs up gives
// typed errors, and the client reconnects for the next command.
func TestRedisProtocolErrors(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	replies := []string{"?garbage\r\n", "$5\r\nhel", "$2\r\nok\r\n"}
	go func() {
		for _, r := range replies {
			c, err := l.Accept()
			if err != nil {
				return
			}
			buf := make([]byte, 4096)
			c.Read(buf) // the command
			c.Write([]byte(r))
			c.Close()
		}
	}()
	d, _ := NewRedis(RedisOptions{Addrs: []string{l.Addr().String()}, Timeout: 5 * time.Second})
	cl, _ := d.NewClient(0)
	defer cl.Close()
	var rr ReadResult
	ctx := context.Background()
	for i, want := range []string{KindProtocol, KindConnection, ""} {
		err := cl.Read(ctx, []byte("k"), &rr)
		if ErrorKind(err) != want && !(want == "" && err == nil) {
			t.Errorf("reply %q: %v (kind %q), want %q", replies[i], err, ErrorKind(err), want)
		}
	}
	if !rr.Found || string(rr.Values[0]) != "ok" {
		t.Errorf("last read: %v %q", rr.Found, rr.Values)
	}
	if _, err := NewRedis(RedisOptions{Addrs: []string{"nohost"}}); err == nil || !strings.Contains(err.Error(), "host:port") {
		t.Errorf("address without a port: %v", err)
	}
}
