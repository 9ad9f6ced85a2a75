package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	sdk "github.com/dynkv/dynkv/client"
	"github.com/dynkv/dynkv/node"
	"github.com/dynkv/dynkv/node/membership"
)

// memberCluster runs an in-process cluster of n nodes serving HTTP and
// returns it with its nodes' URLs, n1 first.
func memberCluster(t *testing.T, n int) (*node.LocalCluster, []string) {
	t.Helper()
	c, err := node.StartLocalCluster(node.LocalClusterOptions{Nodes: n, Dir: t.TempDir(), HTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("close cluster: %v", err)
		}
	})
	urls := make([]string, n)
	for i := range urls {
		urls[i] = "http://" + c.Addr(i)
	}
	return c, urls
}

// holdsLocally reports whether the node at base stores a copy of key
// (GET /admin/local/{key}).
func holdsLocally(t *testing.T, base, key string) bool {
	t.Helper()
	r, err := request(http.MethodGet, base+"/admin/local/"+url.PathEscape(key), "")
	var body struct{ Found bool }
	if err != nil || r.status != http.StatusOK || json.Unmarshal([]byte(r.body), &body) != nil {
		t.Fatalf("GET %s/admin/local/%s: %d %q %v", base, key, r.status, r.body, err)
	}
	return body.Found
}

// statusRow is one row of the members table of `dynkv status`.
type statusRow struct {
	id, addr, status, api string
	leads, replicas       int
	share                 float64
}

var statusRowRE = regexp.MustCompile(`^(n\d+)\s+(\S+)\s+(\S+)\s+(\d+)\s+([\d.]+)%\s+(\d+)\s+(\S+)\s+(-|[\d.]+)\s+(-|[\d.]+ms)$`)

// statusRows parses the members table, checking that each row's columns
// start where the header's do.
func statusRows(t *testing.T, out string) map[string]statusRow {
	t.Helper()
	lines := strings.Split(out, "\n")
	h := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "ID ") })
	if h < 0 {
		t.Fatalf("status has no members table:\n%s", out)
	}
	header := lines[h]
	rows := map[string]statusRow{}
	for _, l := range lines[h+1:] {
		if l == "" {
			break
		}
		m := statusRowRE.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("status row %q does not parse:\n%s", l, out)
		}
		for _, col := range []string{"STATUS", "LEADS", "API"} {
			if i := strings.Index(header, col); i >= len(l) || l[i] == ' ' || l[i-1] != ' ' {
				t.Errorf("status row %q: column %s not aligned under %q", l, col, header)
			}
		}
		r := statusRow{id: m[1], addr: m[2], status: m[3], api: m[7]}
		r.leads, _ = strconv.Atoi(m[4])
		r.share, _ = strconv.ParseFloat(m[5], 64)
		r.replicas, _ = strconv.Atoi(m[6])
		rows[r.id] = r
	}
	return rows
}

type statusOutput struct {
	Partitions int `json:"partitions"`
	N          int `json:"n"`
	Members    []struct {
		ID        string  `json:"id"`
		HTTPAddr  string  `json:"http_addr"`
		Status    string  `json:"status"`
		Leads     int     `json:"leads"`
		Replicas  int     `json:"replicas"`
		Share     float64 `json:"share"`
		Reachable bool    `json:"reachable"`
		Error     string  `json:"error"`
		Metrics   *struct {
			TreesReady   int64            `json:"antientropy_trees_ready"`
			Exchanges    map[string]int64 `json:"antientropy_exchanges"`
			HintsPending map[string]int64 `json:"hints_pending"`
		} `json:"metrics"`
	} `json:"members"`
	HintsPending []struct {
		Target  string           `json:"target"`
		Pending int64            `json:"pending"`
		HeldBy  map[string]int64 `json:"held_by"`
	} `json:"hints_pending"`
	Handoffs []json.RawMessage `json:"handoffs"`
}

// TestCLIStatus checks status on a healthy 4-node cluster (every member,
// shares adding up, every section), then with n4 killed: still exit 0, n4
// failed and unreachable, the hints the others keep for it counted.
func TestCLIStatus(t *testing.T) {
	t.Parallel()
	c, urls := memberCluster(t, 4)
	eps := []string{"--endpoints", strings.Join(urls, ",")}
	status := func(args ...string) cliResult {
		t.Helper()
		return cli(t, "", nil, append(append([]string{"status"}, args...), eps...)...).ok(t)
	}

	out := status().stdout
	if !strings.HasPrefix(out, "4 members (4 alive); 256 partitions, N=3\n") {
		t.Errorf("status header:\n%s", out)
	}
	rows := statusRows(t, out)
	leads, replicas := 0, 0
	for i := range 4 {
		r, ok := rows[node.NodeID(i)]
		if !ok || r.status != "alive" || r.api != "ok" || "http://"+r.addr != urls[i] || r.leads == 0 {
			t.Errorf("status row of %s: %+v", node.NodeID(i), r)
		}
		leads += r.leads
		replicas += r.replicas
	}
	if leads != 256 || replicas != 3*256 {
		t.Errorf("leads add up to %d (want 256), replicas to %d (want 768):\n%s", leads, replicas, out)
	}
	for _, want := range []string{"\nHints pending: none\n", "\nHandoffs: none in progress\n", "\nAnti-entropy:\nNODE ", "\nn4 ",
		"\nBucket props: every member has the same (registry "} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "Unreachable") {
		t.Errorf("healthy cluster shows unreachable members:\n%s", out)
	}

	c.Kill(3)
	c.Membership.SetStatus(node.NodeID(3), membership.StatusFailed)
	for i := range 30 { // through n1: those n4 replicates leave hints for it
		mustPut(t, urls[0], fmt.Sprintf("k%02d", i), "v")
	}
	out = status().stdout
	rows = statusRows(t, out)
	if r := rows["n4"]; r.status != "failed" || r.api != "unreachable" {
		t.Errorf("dead n4's row: %+v\n%s", r, out)
	}
	if !strings.HasPrefix(out, "4 members (3 alive, 1 failed)") || !strings.Contains(out, "\nUnreachable:\n  n4: ") ||
		!regexp.MustCompile(`\nHints pending:\nTARGET +PENDING +HELD BY\nn4 +\d+ +n\d \(\d+\)`).MatchString(out) {
		t.Errorf("status with n4 dead:\n%s", out)
	}
	t.Logf("dynkv status with n4 dead:\n%s", out)

	var st statusOutput
	if err := json.Unmarshal([]byte(status("-o", "json").stdout), &st); err != nil {
		t.Fatal(err)
	}
	share := 0.0
	for _, m := range st.Members {
		share += m.Share
		dead := m.ID == "n4"
		if m.Reachable == dead || (m.Error != "") != dead || (m.Metrics != nil) == dead {
			t.Errorf("status -o json member %+v", m)
		}
		if !dead && (m.Metrics.TreesReady < 0 || m.Metrics.Exchanges == nil) {
			t.Errorf("status -o json metrics of %s: %+v", m.ID, *m.Metrics)
		}
	}
	if st.Partitions != 256 || st.N != 3 || len(st.Members) != 4 || share < 0.999 || share > 1.001 ||
		len(st.HintsPending) != 1 || st.HintsPending[0].Target != "n4" || st.HintsPending[0].Pending == 0 || st.Handoffs == nil {
		t.Errorf("status -o json: %+v", st)
	}
}

// TestCLIRemove removes a killed node, and checks that removing an alive
// node, an unknown one, or the same one twice fails with one clear line.
func TestCLIRemove(t *testing.T) {
	t.Parallel()
	c, urls := memberCluster(t, 3)
	env := []string{"DYNKV_ENDPOINTS=" + strings.Join(urls, ",")}
	run := func(args ...string) cliResult { t.Helper(); return cli(t, "", env, append(args, "--yes")...) }

	c.Kill(2)
	c.Membership.SetStatus(node.NodeID(2), membership.StatusFailed)

	run("remove", "n2").failsWith(t, 1, "dynkv remove n2: cannot_remove", "alive")
	run("remove", "n9").failsWith(t, 1, "dynkv remove n9: unknown_node")
	cli(t, "", env, "remove").failsWith(t, 2, "missing argument")
	run("leave", "--node", "n3").failsWith(t, 1, "dynkv leave n3: unreachable", "dynkv remove")

	if r := run("remove", "n3").ok(t); r.stdout != "removed n3: its partitions are re-replicated from the survivors by anti-entropy\n" {
		t.Errorf("remove printed %q", r.stdout)
	}
	waitMembers(t, urls[0], map[string]string{"n1": "alive", "n2": "alive", "n3": "left"})
	run("remove", "n3").failsWith(t, 1, "dynkv remove n3: node has already left the cluster")
	run("leave", "--node", "n3").failsWith(t, 1, "dynkv leave n3: node has already left the cluster")

	out := cli(t, "", env, "status").ok(t).stdout
	if rows := statusRows(t, out); rows["n3"].status != "left" || rows["n3"].api != "-" || rows["n3"].leads != 0 || rows["n1"].replicas != 256 {
		t.Errorf("status after removing n3:\n%s", out)
	}
	if strings.Contains(out, "Unreachable") {
		t.Errorf("a removed node is listed as unreachable:\n%s", out)
	}
}

var leftLine = regexp.MustCompile(`(?m)^n2 has left the cluster: (\d+) keys handed off in [\d.]+s$`)

// TestCLILeave makes the node at the first endpoint (n2) leave a 4-node
// cluster with --wait: the command returns once n2 has left, having handed
// off exactly the keys it held, and its store is empty. Then n4 leaves
// (-o json), and every key still reads back from the two nodes left.
func TestCLILeave(t *testing.T) {
	t.Parallel()
	_, urls := memberCluster(t, 4)
	const keys = 60
	held := 0
	for i := range keys {
		key := fmt.Sprintf("key-%02d", i)
		mustPut(t, urls[i%4], key+"?w=all", "v"+key) // every replica holds it on return
		if holdsLocally(t, urls[1], key) {
			held++
		}
	}
	if held == 0 {
		t.Fatal("n2 holds none of the keys: nothing to hand off")
	}

	// n2 first: leave without --node makes it leave.
	eps := strings.Join([]string{urls[1], urls[0], urls[2]}, ",")
	r := cli(t, "", nil, "leave", "--yes", "--wait", "--endpoints", eps, "--timeout", deadline.String()).ok(t)
	m := leftLine.FindStringSubmatch(r.stdout)
	if !strings.HasPrefix(r.stdout, "n2 is leaving: handing its data and hints off to the new owners\n") || m == nil {
		t.Fatalf("leave --wait printed:\n%s", r.stdout)
	}
	if got, _ := strconv.Atoi(m[1]); got != held {
		t.Errorf("leave reports %s keys handed off, n2 held %d:\n%s", m[1], held, r.stdout)
	}
	t.Logf("dynkv leave --wait:\n%s", r.stdout)
	waitMembers(t, urls[0], map[string]string{"n1": "alive", "n2": "left", "n3": "alive", "n4": "alive"})
	for i := range keys {
		if key := fmt.Sprintf("key-%02d", i); holdsLocally(t, urls[1], key) {
			t.Errorf("n2 still holds %s after leaving", key)
		}
	}
	cli(t, "", nil, "leave", "--yes", "--node", "n2", "--endpoints", eps).failsWith(t, 1, "dynkv leave n2: node has already left the cluster")
	out := cli(t, "", nil, "status", "--endpoints", eps).ok(t).stdout
	if rows := statusRows(t, out); rows["n2"].status != "left" || rows["n2"].leads != 0 || rows["n1"].leads+rows["n3"].leads+rows["n4"].leads != 256 {
		t.Errorf("status after n2 left:\n%s", out)
	}

	// n4 leaves, followed as JSON.
	r = cli(t, "", nil, "leave", "--yes", "--node", "n4", "--wait", "-o", "json", "--endpoints", eps, "--timeout", deadline.String()).ok(t)
	var res struct {
		Node          string
		Status        string
		KeysHandedOff int `json:"keys_handed_off"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || res.Node != "n4" || res.Status != "left" || res.KeysHandedOff == 0 {
		t.Fatalf("leave --node n4 --wait -o json: %v\n%s", err, r.stdout)
	}
	for i := range keys {
		key := fmt.Sprintf("key-%02d", i)
		if holdsLocally(t, urls[3], key) {
			t.Errorf("n4 still holds %s after leaving", key)
		}
		mustGet(t, urls[i%2*2], key+"?r=2", "v"+key) // n1 and n3, both replicas of everything
	}
}

// TestCLIMembershipErrors: bad usage exits 2, unreachable nodes exit 1,
// each with one line.
func TestCLIMembershipErrors(t *testing.T) {
	t.Parallel()
	dead := "http://127.0.0.1:1"
	for _, tc := range []struct {
		args []string
		code int
		want []string
	}{
		{[]string{"remove", "a", "b"}, 2, []string{`unexpected argument "b"`}},
		{[]string{"leave", "n1"}, 2, []string{`unexpected argument "n1"`}},
		{[]string{"status", "-o", "yaml"}, 2, []string{"--output"}},
		{[]string{"status", "--endpoints", dead, "--timeout", "2s"}, 1, []string{"dynkv status: no node reachable"}},
		{[]string{"remove", "n3", "--yes", "--endpoints", dead, "--timeout", "2s"}, 1, []string{"dynkv remove n3: no endpoint reachable"}},
		{[]string{"leave", "--yes", "--endpoints", dead}, 1, []string{"dynkv leave: unreachable", "dynkv remove"}},
	} {
		cli(t, "", nil, tc.args...).failsWith(t, tc.code, tc.want...)
	}
	for _, cmd := range []string{"leave", "remove", "status"} {
		if r := cli(t, "", nil, cmd, "--help"); r.code != 0 || !strings.Contains(r.stdout, "DYNKV_ENDPOINTS") {
			t.Errorf("%s --help: exit %d\n%s", cmd, r.code, r.stdout)
		}
	}
	if r := cli(t, "", nil, "leave", "--help"); !strings.Contains(r.stdout, "--wait") || !strings.Contains(r.stdout, "default 5m0s") {
		t.Errorf("leave --help:\n%s", r.stdout)
	}
}

// TestPrintHandoffs: the handoffs in progress are summed on one line.
func TestPrintHandoffs(t *testing.T) {
	var buf bytes.Buffer
	printHandoffs(&buf, &statusJSON{
		Handoffs:     []sdk.Handoff{{From: "n3", Partition: 7, To: []string{"n1"}, KeysDone: 1, KeysLeft: 3}},
		HandoffTotal: sdk.HandoffTotal{Partitions: 1, KeysDone: 1, KeysLeft: 3, Percent: 25},
	})
	if !strings.Contains(buf.String(), "1 partitions, 1 of 4 keys handed off (25.0 %)") {
		t.Errorf("printHandoffs:\n%s", buf.String())
	}
}
