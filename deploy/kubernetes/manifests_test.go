package kubernetes

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// manifests are the objects of every *.yaml file here, each decoded
// strictly into its Kubernetes API type: an unknown or misspelt field,
// a duplicate key or a value of the wrong type fails the test, as the
// API server would refuse it (kubectl apply --validate=strict).
type manifests struct {
	sts      *appsv1.StatefulSet
	services map[string]*corev1.Service
	pdb      *policyv1.PodDisruptionBudget
}

func load(t *testing.T) manifests {
	t.Helper()
	files, err := filepath.Glob("*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests: %v", err)
	}
	m := manifests{services: map[string]*corev1.Service{}}
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(raw), -1) {
			if strings.TrimSpace(doc) == "" {
				continue
			}
			where := fmt.Sprintf("%s, document %d", file, i+1)
			var tm metav1.TypeMeta
			if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
				t.Fatalf("%s: %v", where, err)
			}
			var obj any
			switch tm.APIVersion + " " + tm.Kind {
			case "apps/v1 StatefulSet":
				if m.sts != nil {
					t.Fatalf("%s: a second StatefulSet", where)
				}
				m.sts = &appsv1.StatefulSet{}
				obj = m.sts
			case "v1 Service":
				s := &corev1.Service{}
				obj = s
				defer func() { m.services[s.Name] = s }()
			case "policy/v1 PodDisruptionBudget":
				m.pdb = &policyv1.PodDisruptionBudget{}
				obj = m.pdb
			default:
				t.Fatalf("%s: unexpected %s %s", where, tm.APIVersion, tm.Kind)
			}
			if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
				t.Fatalf("%s: %v", where, err)
			}
		}
	}
	if m.sts == nil || m.pdb == nil {
		t.Fatal("want a StatefulSet and a PodDisruptionBudget")
	}
	return m
}

// deployment is what TestManifests checks: the manifests, the pod spec,
// the node and init containers, and their arguments by flag name.
type deployment struct {
	m              manifests
	pod            corev1.PodSpec
	node, init     corev1.Container
	args, initArgs map[string]string
	labels         map[string]string // the pods'
}

func TestManifests(t *testing.T) {
	d := loadDeployment(t)
	t.Run("node ids are the pods' names", d.checkNodeIDs)
	t.Run("peers find each other through the headless service", d.checkPeers)
	t.Run("probes", d.checkProbes)
	t.Run("each pod keeps its data on a volume of its own", d.checkDataVolume)
	t.Run("termination is graceful, and longer than a request", d.checkTermination)
	t.Run("the disruption budget keeps a quorum of every key", d.checkDisruptionBudget)
	t.Run("secured", d.checkSecured)
}

// loadDeployment loads the manifests and checks that the dynkv commands
// have every flag their containers pass.
func loadDeployment(t *testing.T) deployment {
	m := load(t)
	sts := m.sts
	pod := sts.Spec.Template.Spec
	if len(pod.Containers) != 1 || len(pod.InitContainers) != 1 {
		t.Fatalf("want one container and one init container, got %d and %d", len(pod.Containers), len(pod.InitContainers))
	}
	node, init := pod.Containers[0], pod.InitContainers[0]
	args := parseArgs(t, node.Args)
	checkFlags(t, "serve", args)
	if len(init.Args) < 3 || init.Args[0] != "cert" || init.Args[1] != "install-node" {
		t.Fatalf("init container args %q; want cert install-node $(POD_NAME) ...", init.Args)
	}
	initArgs := parseArgs(t, init.Args[3:])
	checkFlags(t, "cert install-node", initArgs)
	labels := sts.Spec.Template.Labels
	return deployment{m: m, pod: pod, node: node, init: init, args: args, initArgs: initArgs, labels: labels}
}

// checkNodeIDs: a node's id is its pod's name, and every $(VAR) in the
// containers' args is defined.
func (d deployment) checkNodeIDs(t *testing.T) {
	node, init, args := d.node, d.init, d.args
	for _, c := range []corev1.Container{node, init} {
		if !envFromField(c, "POD_NAME", "metadata.name") {
			t.Errorf("%s: POD_NAME is not the pod's metadata.name", c.Name)
		}
	}
	if args["node-id"] != "$(POD_NAME)" || init.Args[2] != "$(POD_NAME)" {
		t.Errorf("--node-id %q, install-node %q; want $(POD_NAME)", args["node-id"], init.Args[2])
	}
	for _, c := range []corev1.Container{node, init} {
		for _, ref := range regexp.MustCompile(`\$\(([A-Z_]+)\)`).FindAllStringSubmatch(strings.Join(c.Args, " "), -1) {
			if !slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == ref[1] }) {
				t.Errorf("%s: $(%s) is not defined in env: Kubernetes would pass it literally", c.Name, ref[1])
			}
		}
	}
}

// checkPeers: the pods join one another through the headless service.
func (d deployment) checkPeers(t *testing.T) {
	m, sts, node, args, labels := d.m, d.m.sts, d.node, d.args, d.labels
	svc := m.services[sts.Spec.ServiceName]
	if svc == nil || svc.Spec.ClusterIP != corev1.ClusterIPNone || !svc.Spec.PublishNotReadyAddresses {
		t.Fatalf("service %q: want headless, publishing unready pods", sts.Spec.ServiceName)
	}
	checkSelects(t, "service "+svc.Name, svc.Spec.Selector, labels)
	domain := "." + svc.Name + ".$(POD_NAMESPACE).svc.cluster.local"
	var want []string
	for i := range int(*sts.Spec.Replicas) {
		want = append(want, fmt.Sprintf("%s-%d%s:%s", sts.Name, i, domain, port(args["gossip-addr"])))
	}
	if got := strings.Split(args["join"], ","); !slices.Equal(got, want) {
		t.Errorf("--join %q; want every pod %q", got, want)
	}
	if want := "$(POD_NAME)" + domain + ":" + port(args["http-addr"]); args["advertise-http-addr"] != want {
		t.Errorf("--advertise-http-addr %q; want %q", args["advertise-http-addr"], want)
	}
	for _, p := range []struct {
		flag  string
		proto corev1.Protocol
	}{{"http-addr", corev1.ProtocolTCP}, {"internode-addr", corev1.ProtocolTCP}, {"gossip-addr", corev1.ProtocolTCP}, {"gossip-addr", corev1.ProtocolUDP}} {
		if !exposes(node.Ports, svc.Spec.Ports, port(args[p.flag]), p.proto) {
			t.Errorf("--%s port %s/%s is not a container port the headless service carries", p.flag, port(args[p.flag]), p.proto)
		}
	}
	if args["single"] != "false" {
		t.Errorf("--single %q; want false: the image's default makes a node without --join a cluster of one", args["single"])
	}
}

// checkProbes: each probe GETs its path on the node's API port, over TLS
// when the node serves TLS.
func (d deployment) checkProbes(t *testing.T) {
	node, args := d.node, d.args
	for name, p := range map[string]struct {
		probe *corev1.Probe
		path  string
	}{"readiness": {node.ReadinessProbe, "/readyz"}, "liveness": {node.LivenessProbe, "/livez"}, "startup": {node.StartupProbe, "/livez"}} {
		if p.probe == nil || p.probe.HTTPGet == nil || p.probe.HTTPGet.Path != p.path {
			t.Errorf("%s probe: want GET %s", name, p.path)
			continue
		}
		if cp := containerPort(node, p.probe.HTTPGet.Port.String()); strconv.Itoa(int(cp)) != port(args["http-addr"]) {
			t.Errorf("%s probe port %s is not --http-addr's", name, p.probe.HTTPGet.Port.String())
		}
		if args["certs-dir"] != "" && p.probe.HTTPGet.Scheme != corev1.URISchemeHTTPS {
			t.Errorf("%s probe: the API serves TLS with --certs-dir; want HTTPS", name)
		}
	}
}

// checkDataVolume: the data and the keyring live on a volumeClaimTemplate.
func (d deployment) checkDataVolume(t *testing.T) {
	sts, node, init, args, initArgs := d.m.sts, d.node, d.init, d.args, d.initArgs
	claims := map[string]bool{}
	for _, c := range sts.Spec.VolumeClaimTemplates {
		claims[c.Name] = true
	}
	if mount := mountOf(node, args["data-dir"]); mount == nil || !claims[mount.Name] {
		t.Errorf("--data-dir %s is not on a volumeClaimTemplate", args["data-dir"])
	}
	if mount := mountOf(init, filepath.Dir(initArgs["gossip-key-file"])); mount == nil || !claims[mount.Name] {
		t.Error("the init container does not write the keyring to the data volume")
	}
}

// checkTermination: the grace period outlasts a request and the drain.
func (d deployment) checkTermination(t *testing.T) {
	pod, node, args := d.pod, d.node, d.args
	timeout, drain := duration(t, args["request-timeout"], 5*time.Second), duration(t, args["shutdown-drain"], 2*time.Second)
	grace := time.Duration(*pod.TerminationGracePeriodSeconds) * time.Second
	if grace <= timeout+drain {
		t.Errorf("terminationGracePeriodSeconds %v; want more than --request-timeout %v + --shutdown-drain %v", grace, timeout, drain)
	}
	if node.Lifecycle != nil && node.Lifecycle.PreStop != nil {
		t.Error("a preStop hook: SIGTERM alone shuts down cleanly, and a hook calling leave would hand the data off at every restart")
	}
}

// checkDisruptionBudget: the pods the budget lets go down leave every key
// enough replicas for R and W.
func (d deployment) checkDisruptionBudget(t *testing.T) {
	m, sts, args, labels := d.m, d.m.sts, d.args, d.labels
	n, r, w := intFlag(t, args, "n", 3), intFlag(t, args, "r", 2), intFlag(t, args, "w", 2)
	checkSelects(t, "the disruption budget", m.pdb.Spec.Selector.MatchLabels, labels)
	replicas := int(*sts.Spec.Replicas)
	var down int
	switch s := m.pdb.Spec; {
	case s.MaxUnavailable != nil && s.MinAvailable == nil:
		down = s.MaxUnavailable.IntValue()
	case s.MinAvailable != nil && s.MaxUnavailable == nil:
		down = replicas - s.MinAvailable.IntValue()
	default:
		t.Fatal("want one of maxUnavailable and minAvailable, as an integer")
	}
	// The pods down may all hold one key's replicas.
	if down < 1 || n-down < max(r, w) {
		t.Errorf("%d pods may be down: a key with N=%d would keep %d replicas up, fewer than R=%d or W=%d", down, n, n-down, r, w)
	}
}

// checkSecured: the node runs secured, with what the init container installs.
func (d deployment) checkSecured(t *testing.T) {
	pod, node, args, initArgs := d.pod, d.node, d.args, d.initArgs
	if _, open := args["insecure"]; open {
		t.Fatal("--insecure: the manifests run secured")
	}
	for _, f := range []string{"certs-dir", "gossip-key-file", "tokens-file"} {
		if args[f] == "" {
			t.Errorf("no --%s", f)
		}
	}
	if initArgs["certs-dir"] != args["certs-dir"] || initArgs["gossip-key-file"] != args["gossip-key-file"] {
		t.Errorf("the init container installs into %s and %s; the node reads %s and %s",
			initArgs["certs-dir"], initArgs["gossip-key-file"], args["certs-dir"], args["gossip-key-file"])
	}
	secretMount := mountOf(node, filepath.Dir(args["tokens-file"]))
	if secretMount == nil || secretMount.MountPath != initArgs["from"] {
		t.Fatalf("--tokens-file %s is not in the Secret the init container installs from (%s)", args["tokens-file"], initArgs["from"])
	}
	for _, v := range pod.Volumes {
		if v.Name == secretMount.Name && (v.Secret == nil || v.Secret.SecretName == "") {
			t.Errorf("volume %s is not a Secret", v.Name)
		}
	}
}

// parseArgs reads --name=value arguments; a flag without a value is "".
func parseArgs(t *testing.T, args []string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, a := range args {
		name, value, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if !strings.HasPrefix(a, "--") || name == "" {
			t.Fatalf("argument %q: want --name=value", a)
		}
		if _, dup := out[name]; dup {
			t.Fatalf("--%s given twice", name)
		}
		out[name] = value
	}
	return out
}

// checkFlags fails for a flag the dynkv command does not have: its --help,
// from the repository's own source.
func checkFlags(t *testing.T, command string, args map[string]string) {
	t.Helper()
	cmd := exec.Command("go", append([]string{"run", "./cmd/dynkv"}, append(strings.Fields(command), "--help")...)...)
	cmd.Dir = filepath.Join("..", "..")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("dynkv %s --help: %v\n%s", command, err, out.String())
	}
	known := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^  --([a-z][a-z0-9-]*)`).FindAllStringSubmatch(out.String(), -1) {
		known[m[1]] = true
	}
	if len(known) == 0 {
		t.Fatalf("dynkv %s --help lists no flags:\n%s", command, out.String())
	}
	for name := range args {
		if !known[name] {
			t.Errorf("dynkv %s has no flag --%s", command, name)
		}
	}
}

func envFromField(c corev1.Container, name, fieldPath string) bool {
	for _, e := range c.Env {
		if e.Name == name {
			return e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == fieldPath
		}
	}
	return false
}

func checkSelects(t *testing.T, what string, selector, labels map[string]string) {
	t.Helper()
	if len(selector) == 0 {
		t.Errorf("%s selects every pod", what)
	}
	for k, v := range selector {
		if labels[k] != v {
			t.Errorf("%s selects %s=%s, which the pods do not carry", what, k, v)
		}
	}
}

func port(hostPort string) string {
	i := strings.LastIndexByte(hostPort, ':')
	return hostPort[i+1:]
}

func containerPort(c corev1.Container, nameOrNumber string) int32 {
	for _, p := range c.Ports {
		if p.Name == nameOrNumber || strconv.Itoa(int(p.ContainerPort)) == nameOrNumber {
			return p.ContainerPort
		}
	}
	return 0
}

// exposes reports whether the container listens on port with proto and the
// service carries it.
func exposes(container []corev1.ContainerPort, service []corev1.ServicePort, port string, proto corev1.Protocol) bool {
	protocol := func(p corev1.Protocol) corev1.Protocol {
		if p == "" {
			return corev1.ProtocolTCP
		}
		return p
	}
	for _, cp := range container {
		if strconv.Itoa(int(cp.ContainerPort)) != port || protocol(cp.Protocol) != proto {
			continue
		}
		for _, sp := range service {
			if protocol(sp.Protocol) == proto && (sp.TargetPort.String() == cp.Name || sp.TargetPort.IntValue() == int(cp.ContainerPort)) {
				return true
			}
		}
	}
	return false
}

func mountOf(c corev1.Container, path string) *corev1.VolumeMount {
	for i, m := range c.VolumeMounts {
		if path == m.MountPath || strings.HasPrefix(path, strings.TrimSuffix(m.MountPath, "/")+"/") {
			return &c.VolumeMounts[i]
		}
	}
	return nil
}

func duration(t *testing.T, s string, def time.Duration) time.Duration {
	t.Helper()
	if s == "" {
		return def
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func intFlag(t *testing.T, args map[string]string, name string, def int) int {
	t.Helper()
	if args[name] == "" {
		return def
	}
	v, err := strconv.Atoi(args[name])
	if err != nil {
		t.Fatalf("--%s %q: %v", name, args[name], err)
	}
	return v
}
