package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"text/tabwriter"
	"time"
)

// TestHostileClients sends a battery of malformed and hostile requests
// (hostile_rows_test.go), each over its own raw TCP connection exactly as
// written, to three `dynkv serve` processes, and checks each answer against
// docs/API.md. Afterwards every node must still be up without a panic in its
// log, the keys written before must read back unchanged, and no key a
// hostile request targeted may exist.

const (
	hostileReqTimeout = 5 * time.Second // bound on each request
	hostileWorkers    = 16
)

type kv struct{ key, value, ctype string }

// row is one hostile request and what docs/API.md says it must get.
type row struct {
	name      string
	on        int    // node 1..3 it is sent to; 0: spread over the nodes
	req       string // raw bytes, sent as written
	want      string // "status [code]" alternatives separated by "|"; "4xx" is any client error
	allow     string // the Allow header a 405 must carry
	closed    bool   // the server must close the connection after answering
	body      string // the exact body the answer must have
	writes    kv     // a valid write: the key must read back with this value afterwards
	head      bool   // a HEAD request: no body to read
	internode bool   // internode route: binary error bodies, not JSON
}

// env is what the rows are built from: the nodes' actors and the contexts
// of the keys written before the battery.
type env struct {
	actors []string
	ctx    map[string]string // key → context of a read with r=all
	state  map[string]string // key → readState before the battery
}

// outcome is what the server answered to one row.
type outcome struct {
	status      int
	code, allow string
	body        string
	jsonErr     bool   // the body is {"error":..., "code":...}
	conn        string // after the answer: closed, open or the extra bytes
	injected    bool   // the answer carries an X-Injected header
	err         string // no (parsable) answer
	elapsed     string
}

func TestHostileClients(t *testing.T) {
	t.Parallel()
	start := time.Now()
	nodes := startHostileCluster(t)
	e := setupHostile(t, nodes)
	rows := hostileRows(e)
	if len(rows) < 80 {
		t.Fatalf("only %d rows", len(rows))
	}
	out := make([]outcome, len(rows))
	var wg sync.WaitGroup
	sem := make(chan struct{}, hostileWorkers)
	for i, r := range rows {
		on := r.on
		if on == 0 {
			on = i%len(nodes) + 1
		}
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			out[i] = send(nodes[on-1].url, r)
		})
	}
	wg.Wait()
	battery := time.Since(start)
	checkAfter(t, nodes, e, rows)

	// Last, as it makes n3 leave: a leave with a body must not crash it.
	leave := row{name: "cluster/leave-with-body", req: req("POST", "/cluster/leave", `{"evil":"\u0000"}`, "Content-Type: application/json"), want: "202"}
	rows, out = append(rows, leave), append(out, send(nodes[2].url, leave))
	checkAlive(t, nodes)
	report(t, rows, out)
	t.Logf("%d rows; battery done %v after start, test %v", len(rows), battery.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
}

func startHostileCluster(t *testing.T) []*serveNode {
	t.Helper()
	dir := t.TempDir()
	ports := freePorts(t, 6)
	lim := []string{"--max-value-bytes", strconv.Itoa(hostileMaxValue)}
	n1 := newServeNode(t, dir, "n1", ports[0], ports[1], lim...)
	n2 := newServeNode(t, dir, "n2", ports[2], ports[3], append(lim, "--join", n1.gossip)...)
	n3 := newServeNode(t, dir, "n3", ports[4], ports[5], append(lim, "--join", n1.gossip)...)
	n1.start(t)
	waitMembers(t, n1.url, map[string]string{"n1": "alive"})
	n2.start(t)
	n3.start(t)
	nodes := []*serveNode{n1, n2, n3}
	for _, n := range nodes {
		waitMembers(t, n.url, map[string]string{"n1": "alive", "n2": "alive", "n3": "alive"})
	}
	return nodes
}

func setupHostile(t *testing.T, nodes []*serveNode) *env {
	t.Helper()
	e := &env{ctx: map[string]string{}, state: map[string]string{}}
	for _, n := range nodes {
		e.actors = append(e.actors, healthActor(t, n.url))
	}
	for i, k := range setupKeys {
		base := nodes[i%len(nodes)].url
		waitFor(t, "PUT "+k.key, func() (bool, string) {
			st, _, body, err := httpDo("PUT", base+p(k.key), k.value, "Content-Type", k.ctype)
			return err == nil && st == http.StatusNoContent, fmt.Sprintf("%d %q %v", st, body, err)
		})
	}
	for _, k := range setupKeys {
		st, ctx := readState(nodes[0].url, k.key)
		if !strings.HasPrefix(st, "200 ") || ctx == "" {
			t.Fatalf("read %q after writing it: %s", k.key, st)
		}
		e.state[k.key], e.ctx[k.key] = st, ctx
	}
	return e
}

// httpDo is a well-formed request through net/http, with header pairs.
func httpDo(method, u, body string, hdr ...string) (int, http.Header, string, error) {
	rq, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		return 0, nil, "", err
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		rq.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := client.Do(rq)
	if err != nil {
		return 0, nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b), err
}

// readState summarises a key as a quorum read of all replicas sees it:
// status, siblings (value and content type), context; and the context.
func readState(base, key string) (string, string) {
	st, _, body, err := httpDo("GET", base+p(key)+"?r=all", "", "Accept", "application/json")
	if err != nil {
		return "error " + err.Error(), ""
	}
	var r struct {
		Siblings []struct{ Value, Content_type string }
		Code     string
		Context  string
	}
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		return fmt.Sprintf("%d unparsable %q", st, body), ""
	}
	return fmt.Sprintf("%d %s %v ctx=%s", st, r.Code, r.Siblings, r.Context), r.Context
}

// send writes r.req on a new connection while reading the answer: the
// server may answer and close before it has read everything.
func send(base string, r row) (o outcome) {
	start := time.Now()
	defer func() { o.elapsed = time.Since(start).Round(time.Millisecond).String() }()
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(base, "http://"), hostileReqTimeout)
	if err != nil {
		o.err = err.Error()
		return o
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(hostileReqTimeout))
	go conn.Write([]byte(r.req))
	br := bufio.NewReader(conn)
	method := "GET"
	if r.head {
		method = "HEAD"
	}
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		o.err = "no answer: " + err.Error()
		return o
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if err != nil {
		o.err = "body: " + err.Error()
	}
	o.status, o.body, o.allow = resp.StatusCode, string(b), resp.Header.Get("Allow")
	o.injected = resp.Header.Get("X-Injected") != ""
	var eb struct{ Error, Code string }
	if json.Unmarshal(b, &eb) == nil && eb.Error != "" && eb.Code != "" {
		o.jsonErr, o.code = true, eb.Code
	}
	if r.closed {
		o.conn = connState(conn, br)
	}
	return o
}

// connState tells whether the server closed the connection after its answer.
func connState(conn net.Conn, br *bufio.Reader) string {
	conn.SetReadDeadline(time.Now().Add(time.Second))
	buf := make([]byte, 200)
	n, err := br.Read(buf)
	switch {
	case n > 0:
		return fmt.Sprintf("open, then %.50q", buf[:n])
	case errors.Is(err, os.ErrDeadlineExceeded):
		return "open"
	}
	return "closed"
}

// problems lists how o differs from what r must get.
func problems(r row, o outcome) []string {
	if o.err != "" {
		return []string{o.err}
	}
	var ps []string
	if !matches(r.want, o) {
		ps = append(ps, "status/code")
	}
	if r.allow != "" && o.allow != r.allow {
		ps = append(ps, fmt.Sprintf("Allow %q", o.allow))
	}
	if r.body != "" && o.body != r.body {
		ps = append(ps, fmt.Sprintf("body %.60q", o.body))
	}
	if r.closed && o.conn != "closed" {
		ps = append(ps, "connection "+o.conn)
	}
	if o.injected {
		ps = append(ps, "answer carries X-Injected")
	}
	if o.status >= 400 && !r.internode && !r.head && !o.jsonErr {
		ps = append(ps, fmt.Sprintf("error body not JSON {error,code}: %.60q", o.body))
	}
	return ps
}

func matches(want string, o outcome) bool {
	for _, alt := range strings.Split(want, "|") {
		f := strings.Fields(alt)
		st := f[0]
		okStatus := st == strconv.Itoa(o.status) || (strings.HasSuffix(st, "xx") && st[0] == strconv.Itoa(o.status)[0])
		if okStatus && (len(f) == 1 || f[1] == o.code) {
			return true
		}
	}
	return false
}

func report(t *testing.T, rows []row, out []outcome) {
	t.Helper()
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ROW\tEXPECTED\tGOT\tPROBLEMS\tTIME")
	failed := 0
	for i, r := range rows {
		ps := problems(r, out[i])
		if len(ps) == 0 {
			continue
		}
		failed++
		exp := r.want
		if r.allow != "" {
			exp += " Allow: " + r.allow
		}
		if r.closed {
			exp += " +close"
		}
		got := strings.TrimSpace(fmt.Sprintf("%d %s", out[i].status, out[i].code))
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.name, exp, got, strings.Join(ps, "; "), out[i].elapsed)
	}
	tw.Flush()
	if failed > 0 {
		t.Errorf("%d of %d hostile rows failed:\n%s", failed, len(rows), buf.String())
	}
}

// checkAfter checks that the battery left the cluster up and its data as it
// was, but for the rows that validly write.
func checkAfter(t *testing.T, nodes []*serveNode, e *env, rows []row) {
	t.Helper()
	checkAlive(t, nodes)
	written := map[string]kv{}
	for _, r := range rows {
		if r.writes.key != "" {
			written[r.writes.key] = r.writes
		}
	}
	for i, k := range setupKeys {
		if _, ok := written[k.key]; !ok {
			if st, _ := readState(nodes[i%len(nodes)].url, k.key); st != e.state[k.key] {
				t.Errorf("key %q changed by the battery:\n before %s\n after  %s", k.key, e.state[k.key], st)
			}
		}
	}
	for _, w := range written {
		st, _, body, err := httpDo("GET", nodes[0].url+p(w.key), "")
		if err != nil || st != http.StatusOK || body != w.value {
			t.Errorf("valid key %q does not read back: %d %.80q %v; want 200 %.80q", w.key, st, body, err, w.value)
		}
	}
	for _, k := range absentKeys {
		if st, _ := readState(nodes[0].url, k); st != "404 not_found [] ctx=" {
			t.Errorf("key %q, targeted by hostile requests, exists after the battery: %s", k, st)
		}
		for _, n := range nodes {
			if sibs, err := adminLocal(n.url, k); err != nil || len(sibs) > 0 {
				t.Errorf("%s holds %q after the battery: %v %v", n.id, k, sibs, err)
			}
		}
	}
	for _, n := range nodes {
		sibs, err := adminLocal(n.url, "ok/inject")
		if err != nil || strings.ContainsAny(fmt.Sprint(sibs), "\r\n\x00") {
			t.Errorf("%s stored a content type with CR/LF/NUL: %q %v", n.id, sibs, err)
		}
	}
}

// adminLocal returns the content types of the node's own siblings of key.
func adminLocal(base, key string) ([]string, error) {
	st, _, body, err := httpDo("GET", base+"/admin/local/"+url.PathEscape(key), "")
	if err != nil || st != http.StatusOK {
		return nil, fmt.Errorf("GET /admin/local: %d %.100q %v", st, body, err)
	}
	var r struct {
		Siblings []struct{ Content_type string }
	}
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		return nil, err
	}
	var cts []string
	for _, s := range r.Siblings {
		cts = append(cts, s.Content_type)
	}
	return cts, nil
}

// checkAlive checks every process runs, answers /livez and logged no panic.
func checkAlive(t *testing.T, nodes []*serveNode) {
	t.Helper()
	for _, n := range nodes {
		if n.p.exited() {
			t.Errorf("%s exited", n.id)
		} else if st, _, body, err := httpDo("GET", n.url+"/livez", ""); err != nil || st != http.StatusOK {
			t.Errorf("%s /livez: %d %q %v", n.id, st, body, err)
		}
		if logs := n.p.stderr.String() + n.p.stdout.String(); strings.Contains(strings.ToLower(logs), "panic") {
			i := strings.Index(strings.ToLower(logs), "panic")
			t.Errorf("%s logged a panic: %s", n.id, tail(logs[:min(len(logs), i+500)], 1000))
		}
	}
}
