//go:build chaos

package chaos

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestSingleNodeImage runs the image alone, as its README line says —
// docker run -p 127.0.0.1:PORT:8080 dynkv:latest — and expects a working
// single node: a write and a read through the published port, a healthy
// container, data on the /data volume that a new container finds again,
// and a first log line that says what it is. `make docker-single` runs it after `make image`.
func TestSingleNodeImage(t *testing.T) {
	image := os.Getenv("DYNKV_IMAGE")
	if image == "" {
		image = "dynkv:latest"
	}
	if out, err := exec.Command("docker", "image", "inspect", "--format", "{{.Id}}", image).CombinedOutput(); err != nil {
		requireDocker(t, fmt.Errorf("docker image inspect %s: %v: %s", image, err, strings.TrimSpace(string(out))))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("dynkvsingle%dx%d", os.Getpid(), rand.N(1_000_000))
	docker := func(args ...string) (string, error) {
		out, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	volume := name + "-data"
	run := func() {
		t.Helper()
		if out, err := docker("run", "-d", "--name", name, "-p", fmt.Sprintf("127.0.0.1:%d:8080", port), "-v", volume+":/data", image); err != nil {
			t.Fatalf("docker run: %v: %s", err, out)
		}
	}
	remove := func() {
		if out, err := exec.Command("docker", "rm", "-f", name).CombinedOutput(); err != nil {
			t.Errorf("docker rm %s: %v: %s", name, err, out)
		}
	}
	run()
	t.Cleanup(func() {
		if t.Failed() {
			logs, _ := docker("logs", name)
			t.Logf("docker logs %s:\n%s", name, logs)
		}
		remove()
		if out, err := exec.Command("docker", "volume", "rm", "-f", volume).CombinedOutput(); err != nil {
			t.Errorf("docker volume rm %s: %v: %s", volume, err, out)
		}
	})

	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	client := &http.Client{Timeout: 5 * time.Second}
	waitUntil(t, ctx, "a first PUT through the published port", func() (bool, string) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPut, base+"/kv/greeting", strings.NewReader("hello"))
		status, body, err := send(client, req)
		return err == nil && status == http.StatusNoContent, fmt.Sprint(status, " ", body, " ", err)
	})
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/kv/greeting", nil)
	if status, body, err := send(client, req); err != nil || status != http.StatusOK || body != "hello" {
		t.Fatalf("GET /kv/greeting: %d %q %v; want 200 hello", status, body, err)
	}
	waitUntil(t, ctx, "the container to be healthy", func() (bool, string) {
		out, err := docker("inspect", "--format", "{{.State.Health.Status}}", name)
		return err == nil && out == "healthy", out
	})
	if mounts, err := docker("inspect", "--format", "{{range .Mounts}}{{.Destination}} {{end}}", name); err != nil || !strings.Contains(mounts, "/data") {
		t.Errorf("mounts %q (%v); want the /data volume", mounts, err)
	}
	logs, err := docker("logs", name)
	first, _, _ := strings.Cut(logs, "\n")
	if err != nil || !strings.Contains(first, "single node") {
		t.Errorf("first log line %q (%v); want it to announce a single node", first, err)
	}
	if !strings.Contains(logs, "THE CLIENT API IS OPEN") {
		t.Error("no warning that the client API, published without tokens, is open")
	}

	// A new container on the same volume (an upgrade, say) is the same
	// node with the same data.
	remove()
	run()
	waitUntil(t, ctx, "the new container to serve the key written before", func() (bool, string) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/kv/greeting", nil)
		status, body, err := send(client, req)
		return err == nil && status == http.StatusOK && body == "hello", fmt.Sprint(status, " ", body, " ", err)
	})
}

func send(c *http.Client, req *http.Request) (int, string, error) {
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// waitUntil polls cond every 100 ms until it holds or ctx ends.
func waitUntil(t *testing.T, ctx context.Context, what string, cond func() (bool, string)) {
	t.Helper()
	for {
		ok, saw := cond()
		if ok {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("waited for %s: %v; last saw: %s", what, ctx.Err(), saw)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
