//go:build chaos

package chaos

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// projectPrefix starts the Compose project of every run: dynkvchaos<pid>x<random>.
const projectPrefix = "dynkvchaos"

// Timing of the cluster under test. The anti-entropy interval is short so
// that convergence takes seconds; everything else is as deployed.
const (
	aeInterval   = 5 * time.Second
	hintInterval = time.Second
)

// nodeIndex maps a service to the last octet of its fixed address and its
// port variable: n1 is .11 and DYNKV_PORT_N1.
func nodeIndex(svc string) int {
	i, err := strconv.Atoi(strings.TrimPrefix(svc, "n"))
	if err != nil {
		panic("not a node service: " + svc)
	}
	return i
}

// cluster is one Compose project of dynkv nodes.
type cluster struct {
	project   string
	files     []string // compose files, absolute
	compose   []string // the compose command: docker-compose, or docker compose
	env       []string // environment of compose commands
	netPrefix string   // first three octets of the cluster network
	ports     map[string]int
	http      *http.Client
	// Clients of the secured cluster (secure_test.go): the scheme of the
	// nodes' URLs, and the TLS and token every client uses.
	scheme    string
	clientTLS *tls.Config
	token     string

	mu         sync.Mutex
	containers map[string]string // service -> container ID
}

// tool finds docker and a Compose, or says why not.
func tool() (compose []string, err error) {
	if _, err := exec.LookPath("docker"); err != nil {
		return nil, errors.New("no docker command in PATH")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("docker daemon not reachable: %v: %s", err, bytes.TrimSpace(out))
	}
	if p, err := exec.LookPath("docker-compose"); err == nil {
		return []string{p}, nil
	}
	if err := exec.CommandContext(ctx, "docker", "compose", "version").Run(); err == nil {
		return []string{"docker", "compose"}, nil
	}
	return nil, errors.New("neither docker-compose nor docker compose is installed")
}

// newCluster prepares (but does not start) a project with its own name,
// subnet and host ports.
func newCluster(compose []string, image string, services []string, files ...string) (*cluster, error) {
	c := &cluster{
		project:    fmt.Sprintf("%s%dx%04x", projectPrefix, os.Getpid(), rand.IntN(1<<16)),
		compose:    compose,
		ports:      map[string]int{},
		containers: map[string]string{},
		scheme:     "http",
		http: &http.Client{
			Timeout:   5 * time.Second,
			Transport: &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second},
		},
	}
	for _, f := range files {
		abs, err := filepath.Abs(f)
		if err != nil {
			return nil, err
		}
		c.files = append(c.files, abs)
	}
	prefix, err := freeSubnet()
	if err != nil {
		return nil, err
	}
	c.netPrefix = prefix
	// Only this run's settings: a DYNKV_ variable of the caller's shell
	// must not change the cluster under test.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DYNKV_") && !strings.HasPrefix(kv, "COMPOSE_") {
			c.env = append(c.env, kv)
		}
	}
	c.env = append(c.env,
		"DYNKV_IMAGE="+image,
		"DYNKV_NET_PREFIX="+prefix,
		"DYNKV_RESTART=no", // the suite decides when a node comes back
		"DYNKV_ANTI_ENTROPY_INTERVAL="+aeInterval.String(),
		"DYNKV_HINT_INTERVAL="+hintInterval.String(),
		"DYNKV_GOSSIP_PROFILE=lan",
	)
	for _, svc := range services {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		c.ports[svc] = port
		c.env = append(c.env, fmt.Sprintf("DYNKV_PORT_%s=%d", strings.ToUpper(svc), port))
	}
	return c, nil
}

func (c *cluster) network() string          { return c.project + "_dynkv" }
func (c *cluster) volume(svc string) string { return c.project + "_" + svc + "-data" }
func (c *cluster) ip(svc string) string     { return fmt.Sprintf("%s.%d", c.netPrefix, 10+nodeIndex(svc)) }

// url is the node's published API on loopback: the path a client on the
// host takes, through docker-proxy.
func (c *cluster) url(svc string) string {
	return fmt.Sprintf("%s://127.0.0.1:%d", c.scheme, c.ports[svc])
}

// directURL is the node's address on the cluster network, which the host
// reaches through the bridge without the proxy.
func (c *cluster) directURL(svc string) string { return c.scheme + "://" + c.ip(svc) + ":8080" }

// run runs a command with a deadline and returns its combined output.
func run(ctx context.Context, env []string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err != nil {
		err = fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return out.String(), err
}

// composeCmd runs a Compose subcommand on this project with every profile
// the suite uses, so that down and ps see every service.
func (c *cluster) composeCmd(ctx context.Context, args ...string) (string, error) {
	full := append([]string{}, c.compose[1:]...)
	full = append(full, "-p", c.project)
	for _, f := range c.files {
		full = append(full, "-f", f)
	}
	full = append(full, "--profile", "five", "--profile", "join")
	full = append(full, args...)
	return run(ctx, c.env, c.compose[0], full...)
}

func (c *cluster) docker(ctx context.Context, args ...string) (string, error) {
	return run(ctx, c.env, "docker", args...)
}

// up creates the network and volumes and starts services.
func (c *cluster) up(ctx context.Context, services ...string) error {
	_, err := c.composeCmd(ctx, append([]string{"up", "-d", "--no-deps"}, services...)...)
	return err
}

// container is the service's container ID.
func (c *cluster) container(ctx context.Context, svc string) (string, error) {
	c.mu.Lock()
	id := c.containers[svc]
	c.mu.Unlock()
	if id != "" {
		return id, nil
	}
	out, err := c.composeCmd(ctx, "ps", "-q", svc)
	if err != nil {
		return "", err
	}
	id = strings.TrimSpace(out)
	if id == "" || strings.ContainsAny(id, " \n") {
		return "", fmt.Errorf("no single container for %s: %q", svc, out)
	}
	c.mu.Lock()
	c.containers[svc] = id
	c.mu.Unlock()
	return id, nil
}

func (c *cluster) forget(svc string) {
	c.mu.Lock()
	delete(c.containers, svc)
	c.mu.Unlock()
}

// dockerOn runs a docker command whose last argument is svc's container.
func (c *cluster) dockerOn(ctx context.Context, svc string, args ...string) error {
	id, err := c.container(ctx, svc)
	if err != nil {
		return err
	}
	_, err = c.docker(ctx, append(args, id)...)
	return err
}

// partition cuts the node off the cluster network: from its peers and
// from the host, whose published port closes with it.
func (c *cluster) partition(ctx context.Context, svc string) error {
	return c.dockerOn(ctx, svc, "network", "disconnect", c.network())
}

// heal reconnects the node with its own address and name: gossip takes a
// known node back from another address only once it has been seen failed.
func (c *cluster) heal(ctx context.Context, svc string) error {
	return c.dockerOn(ctx, svc, "network", "connect", "--ip", c.ip(svc), "--alias", svc, c.network())
}

func (c *cluster) kill(ctx context.Context, svc string) error {
	return c.dockerOn(ctx, svc, "kill", "--signal", "KILL")
}

func (c *cluster) start(ctx context.Context, svc string) error {
	return c.dockerOn(ctx, svc, "start")
}

// restart is docker restart: SIGTERM, a clean shutdown within 30 s, start.
func (c *cluster) restart(ctx context.Context, svc string) error {
	return c.dockerOn(ctx, svc, "restart", "--time", "30")
}

func (c *cluster) stop(ctx context.Context, svc string) error {
	return c.dockerOn(ctx, svc, "stop", "--time", "30")
}

// wipe deletes the node's container and volume and creates both anew: the
// same node ID and address with an empty disk.
func (c *cluster) wipe(ctx context.Context, svc string) error {
	if _, err := c.composeCmd(ctx, "rm", "--stop", "--force", svc); err != nil {
		return err
	}
	c.forget(svc)
	if _, err := c.docker(ctx, "volume", "rm", c.volume(svc)); err != nil {
		return err
	}
	return c.up(ctx, svc)
}

// health is Docker's verdict of the container's health check.
func (c *cluster) health(ctx context.Context, svc string) (string, error) {
	id, err := c.container(ctx, svc)
	if err != nil {
		return "", err
	}
	out, err := c.docker(ctx, "inspect", "--format", "{{.State.Status}}/{{if .State.Health}}{{.State.Health.Status}}{{end}}", id)
	return strings.TrimSpace(out), err
}

// waitHealthy waits until Docker reports every service healthy (its own
// health check: dynkv healthcheck in the container) and the node answers
// /healthz through its published port.
func (c *cluster) waitHealthy(ctx context.Context, services ...string) error {
	for _, svc := range services {
		for {
			h, err := c.health(ctx, svc)
			if err == nil && h == "running/healthy" {
				if status, _, err := c.get(ctx, svc, "/healthz"); err == nil && status == http.StatusOK {
					break
				}
			}
			if h == "exited/" || strings.HasPrefix(h, "exited") {
				return fmt.Errorf("%s exited", svc)
			}
			if err := sleep(ctx, 250*time.Millisecond); err != nil {
				return fmt.Errorf("%s not healthy (%s): %w", svc, h, err)
			}
		}
	}
	return nil
}

// member is one entry of GET /cluster/members.
type member struct {
	ID     string            `json:"id"`
	Status string            `json:"status"`
	Tags   map[string]string `json:"tags"`
}

// waitMembers waits until every node in viewers sees exactly want (ID to
// status) among its members.
func (c *cluster) waitMembers(ctx context.Context, viewers []string, want map[string]string) error {
	var last string
	for {
		agree := true
		for _, v := range viewers {
			var ms []member
			if err := c.getJSON(ctx, v, "/cluster/members", &ms); err != nil {
				agree, last = false, fmt.Sprintf("%s: %v", v, err)
				break
			}
			got := map[string]string{}
			for _, m := range ms {
				if _, ok := want[m.ID]; ok {
					got[m.ID] = m.Status
				}
			}
			for id, st := range want {
				if got[id] != st {
					agree, last = false, fmt.Sprintf("%s sees %s %q, want %q", v, id, got[id], st)
					break
				}
			}
			if !agree {
				break
			}
		}
		if agree {
			return nil
		}
		if err := sleep(ctx, 250*time.Millisecond); err != nil {
			return fmt.Errorf("membership did not settle: %s: %w", last, err)
		}
	}
}

// get asks a node through its published port.
func (c *cluster) get(ctx context.Context, svc, path string) (int, []byte, error) {
	return c.do(ctx, http.MethodGet, c.url(svc)+path, nil, nil)
}

func (c *cluster) do(ctx context.Context, method, url string, body []byte, header http.Header) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func (c *cluster) getJSON(ctx context.Context, svc, path string, v any) error {
	status, body, err := c.get(ctx, svc, path)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("GET %s on %s: %d %s", path, svc, status, bytes.TrimSpace(body))
	}
	return json.Unmarshal(body, v)
}

// logs is the tail of every service's log, for a failed run.
func (c *cluster) logs(ctx context.Context) string {
	out, err := c.composeCmd(ctx, "logs", "--no-color", "--tail", "60")
	if err != nil {
		return err.Error()
	}
	return out
}

// down removes the project's containers, networks and volumes, then
// anything Compose left that carries the project's label.
func (c *cluster) down(ctx context.Context) error {
	_, err := c.composeCmd(ctx, "down", "--volumes", "--remove-orphans", "--timeout", "5")
	return errors.Join(err, sweepProject(ctx, c.project))
}

// sweepProject force-removes whatever is labelled with the project.
func sweepProject(ctx context.Context, project string) error {
	label := "label=com.docker.compose.project=" + project
	var errs []error
	for _, kind := range [][]string{
		{"ps", "-aq", "--filter", label}, {"network", "ls", "-q", "--filter", label}, {"volume", "ls", "-q", "--filter", label},
	} {
		out, err := run(ctx, os.Environ(), "docker", kind...)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ids := strings.Fields(out)
		if len(ids) == 0 {
			continue
		}
		rm := []string{"rm", "-f"}
		if kind[0] != "ps" {
			rm = []string{kind[0], "rm"}
		}
		if _, err := run(ctx, os.Environ(), "docker", append(rm, ids...)...); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// sweepAbandoned removes the projects of earlier runs whose test process
// is gone (killed by a timeout, say, before it could clean up).
func sweepAbandoned(ctx context.Context) {
	out, err := run(ctx, os.Environ(), "docker", "ps", "-a", "--format", `{{.Label "com.docker.compose.project"}}`)
	if err != nil {
		return
	}
	seen := map[string]bool{}
	for _, p := range strings.Fields(out) {
		rest, ok := strings.CutPrefix(p, projectPrefix)
		if !ok || seen[p] {
			continue
		}
		seen[p] = true
		pidText, _, _ := strings.Cut(rest, "x")
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid == os.Getpid() || processAlive(pid) {
			continue
		}
		sweepProject(ctx, p)
	}
}

func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
