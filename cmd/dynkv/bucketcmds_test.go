package main

import (
	binenc "encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/dynkv/dynkv/backup"
	sdk "github.com/dynkv/dynkv/client"
)

// bucketFake is a node answering the bucket routes as the API's contract
// says, recording each request.
type bucketFake struct {
	*httptest.Server
	mu     sync.Mutex
	seen   []string // "METHOD path?query"
	bodies []string
	refuse int // answer this status to PUT /buckets/.../props
}

func newBucketFake(t *testing.T) *bucketFake {
	t.Helper()
	f := &bucketFake{}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *bucketFake) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	line := r.Method + " " + r.URL.EscapedPath()
	if r.URL.RawQuery != "" {
		line += "?" + r.URL.RawQuery
	}
	f.mu.Lock()
	if r.URL.Path != "/healthz" {
		f.seen, f.bodies = append(f.seen, line), append(f.bodies, string(body))
	}
	refuse := f.refuse
	f.mu.Unlock()
	w.Header().Set("X-Dynkv-Node", "n1")
	w.Header().Set("Content-Type", "application/json")
	props := `{"n":2,"r":1,"w":2,"max_siblings":100,"max_value_bytes":1048576,"default_ttl":"168h0m0s","conflict":"lww"}`
	switch p := r.URL.Path; {
	case p == "/buckets":
		fmt.Fprint(w, `{"buckets":[{"name":"default","props":{"n":3,"r":2,"w":2,"max_siblings":100,"max_value_bytes":1048576,"conflict":"siblings"}},`+
			`{"name":"carts","props":`+props+`,"version":{"counter":3,"node":"n1"}}]}`)
	case strings.HasSuffix(p, "/props") && r.Method == http.MethodPut && refuse != 0:
		w.WriteHeader(refuse)
		fmt.Fprint(w, `{"error":"refused","code":"forbidden"}`)
	case strings.HasSuffix(p, "/props") && r.Method == http.MethodPut:
		fmt.Fprint(w, `{"bucket":"carts","props":`+props+`,"version":{"counter":4,"node":"n1"},"acknowledged_by":2,"members":3}`)
	case strings.HasSuffix(p, "/props"):
		fmt.Fprint(w, `{"bucket":"carts","props":`+props+`,"version":{"counter":3,"node":"n1"}}`)
	case p == "/kv" || strings.HasSuffix(p, "/kv"):
		fmt.Fprint(w, `{"keys":["YQ==","Yg=="],"next":""}`) // a, b
	case strings.HasPrefix(p, "/admin/set/") && r.Method == http.MethodGet:
		w.Header().Set("Content-Type", "application/octet-stream")
		fmt.Fprint(w, "set of "+strings.TrimPrefix(p, "/admin/set/"))
	case r.Method == http.MethodGet:
		w.Header().Set("X-Causal-Context", "AQEP")
		fmt.Fprint(w, `{"siblings":[{"value":"aGk=","content_type":"text/plain","modified":"2026-01-02T03:04:05Z"}],"context":"AQEP"}`)
	default:
		w.Header().Set("X-Causal-Context", "AQIP")
		w.WriteHeader(http.StatusNoContent)
	}
}

// requests returns what the fake saw since the last call.
func (f *bucketFake) requests() ([]string, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	seen, bodies := f.seen, f.bodies
	f.seen, f.bodies = nil, nil
	return seen, bodies
}

// TestBucketFlag: the key commands send their requests to --bucket's
// routes, or DYNKV_BUCKET's, and to /kv without either; a bad name is bad
// usage, refused before any request.
func TestBucketFlag(t *testing.T) {
	t.Parallel()
	f := newBucketFake(t)
	for _, tc := range []struct {
		cmd  command
		env  map[string]string
		args []string
		want string
	}{
		{runGet, nil, []string{"--bucket", "carts", "u/1"}, "GET /buckets/carts/kv/u%2F1"},
		{runGet, map[string]string{"DYNKV_BUCKET": "carts"}, []string{"u/1"}, "GET /buckets/carts/kv/u%2F1"},
		{runGet, map[string]string{"DYNKV_BUCKET": "carts"}, []string{"--bucket", "default", "k"}, "GET /kv/k"},
		{runGet, nil, []string{"k"}, "GET /kv/k"},
		{runPut, nil, []string{"k", "v", "--bucket=carts", "--ttl", "1m"}, "PUT /buckets/carts/kv/k?ttl=60000ms"},
		{runDelete, nil, []string{"k", "--bucket", "carts", "--context", "AQEP"}, "DELETE /buckets/carts/kv/k"},
		{runLs, nil, []string{"--bucket", "carts", "--prefix", "a"}, "GET /buckets/carts/kv?encoding=base64&limit=1000&prefix=YQ%3D%3D"},
	} {
		code, _, errOut := runIn(tc.cmd, tc.env, append([]string{"--endpoints", f.URL}, tc.args...)...)
		seen, _ := f.requests()
		if code != 0 || len(seen) == 0 || seen[len(seen)-1] != tc.want {
			t.Errorf("%v %v: exit %d, sent %q; want %q\n%s", tc.env, tc.args, code, seen, tc.want, errOut)
		}
	}
	for _, args := range [][]string{{"--bucket", "Carts", "k"}, {"--bucket", "", "k"}} {
		code, _, errOut := runIn(runGet, nil, append([]string{"--endpoints", f.URL}, args...)...)
		if seen, _ := f.requests(); code != 2 || len(seen) != 0 || !strings.Contains(errOut, "bucket name") {
			t.Errorf("get %q: exit %d, sent %q: %s", args, code, seen, errOut)
		}
	}
	_, _, errOut := runIn(runGet, map[string]string{"DYNKV_BUCKET": "no/such"}, "--endpoints", f.URL, "k")
	if !strings.Contains(errOut, "DYNKV_BUCKET") {
		t.Errorf("a bad DYNKV_BUCKET: %s", errOut)
	}
}

// TestBucketCommands: list, get and set against the contract's answers.
func TestBucketCommands(t *testing.T) {
	t.Parallel()
	f := newBucketFake(t)
	run := func(args ...string) (int, string, string) {
		return runIn(runBucket, nil, append(args, "--endpoints", f.URL)...)
	}
	code, out, errOut := run("list")
	if code != 0 || !strings.Contains(out, "carts") || !strings.Contains(out, "168h0m0s") || !strings.Contains(out, "defaults") ||
		!strings.Contains(out, "3 by n1") {
		t.Errorf("bucket list: exit %d\n%s%s", code, out, errOut)
	}
	code, out, _ = run("list", "-o", "json")
	var list struct {
		Buckets []struct {
			Name  string         `json:"name"`
			Props map[string]any `json:"props"`
		} `json:"buckets"`
	}
	if err := json.Unmarshal([]byte(out), &list); code != 0 || err != nil || len(list.Buckets) != 2 || list.Buckets[1].Props["default_ttl"] != "168h0m0s" {
		t.Errorf("bucket list -o json: exit %d, %v\n%s", code, err, out)
	}
	code, out, _ = run("get", "carts")
	if seen, _ := f.requests(); code != 0 || !strings.Contains(out, "conflict lww") || seen[len(seen)-1] != "GET /buckets/carts/props" {
		t.Errorf("bucket get: exit %d, sent %q\n%s", code, seen, out)
	}
	code, out, errOut = run("set", "carts", "--n", "2", "--ttl", "168h", "--conflict", "lww", "--max-value-bytes", "512KiB")
	seen, bodies := f.requests()
	if code != 0 || seen[len(seen)-1] != "PUT /buckets/carts/props" ||
		bodies[len(bodies)-1] != `{"n":2,"max_value_bytes":524288,"default_ttl":"168h0m0s","conflict":"lww"}` ||
		!strings.Contains(out, "2 of 3 nodes") {
		t.Errorf("bucket set: exit %d, sent %q %q\n%s%s", code, seen, bodies, out, errOut)
	}
	for _, args := range [][]string{{"set", "carts", "--conflict", "maybe"}, {"set", "carts", "--n", "-1"}, {"set", "Bad"},
		{"get"}, {"set", "carts", "--ttl", "-1m"}} {
		code, _, errOut := run(args...)
		if seen, _ := f.requests(); code != 2 || len(seen) != 0 && seen[len(seen)-1] != "GET /healthz" {
			t.Errorf("bucket %q: exit %d, sent %q: %s", args, code, seen, errOut)
		}
	}
	f.mu.Lock()
	f.refuse = http.StatusForbidden
	f.mu.Unlock()
	if code, _, errOut := run("set", "carts", "--n", "2"); code != 1 || !strings.Contains(errOut, "role does not allow this") {
		t.Errorf("bucket set refused: exit %d: %s", code, errOut)
	}
}

// TestBackupRestoreBucket: a backup records its bucket and restore puts
// the keys back there, or where --bucket says; a backup from before
// buckets restores into the default bucket.
func TestBackupRestoreBucket(t *testing.T) {
	t.Parallel()
	f := newBucketFake(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "carts.bak")
	code, out, errOut := runIn(runBackup, map[string]string{"DYNKV_BUCKET": "carts"}, "--endpoints", f.URL, "--out", file)
	seen, _ := f.requests()
	if code != 0 || !strings.Contains(out, "backed up 2 keys of bucket carts") || !slices.Contains(seen, "GET /admin/set/a?bucket=carts") ||
		!slices.Contains(seen, "GET /buckets/carts/kv?encoding=base64&limit=1000") {
		t.Fatalf("backup: exit %d, sent %q\n%s%s", code, seen, out, errOut)
	}
	r, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	br, err := backup.NewReader(r)
	r.Close()
	if err != nil || br.Bucket != "carts" {
		t.Fatalf("the backup's header: %v, bucket %q", err, br.Bucket)
	}
	// DYNKV_BUCKET is not restore's: it restores where the file says.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{file}, "POST /admin/set/b?bucket=carts"},
		{[]string{file, "--bucket", "carts.old"}, "POST /admin/set/b?bucket=carts.old"},
		{[]string{file, "--bucket", "default"}, "POST /admin/set/b"},
	} {
		code, out, errOut := runIn(runRestore, map[string]string{"DYNKV_BUCKET": "other", "DYNKV_RESTORE_BUCKET": "other"},
			append([]string{"--endpoints", f.URL}, tc.args...)...)
		seen, bodies := f.requests()
		if code != 0 || !slices.Contains(seen, tc.want) || !slices.Contains(bodies, "set of b") || !strings.Contains(out, "restored 2 keys into bucket") {
			t.Errorf("restore %q: exit %d, sent %q; want %q\n%s%s", tc.args, code, seen, tc.want, out, errOut)
		}
	}
	old := filepath.Join(dir, "v1.bak")
	if err := os.WriteFile(old, versionOneBackup("k1", "set 1"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runIn(runRestore, nil, "--endpoints", f.URL, old)
	if seen, bodies := f.requests(); code != 0 || !slices.Contains(seen, "POST /admin/set/k1") || !slices.Contains(bodies, "set 1") ||
		!strings.Contains(out, "into bucket default") {
		t.Errorf("restore of a version 1 backup: exit %d, sent %q\n%s%s", code, seen, out, errOut)
	}
}

func crc(b []byte) []byte {
	return binenc.BigEndian.AppendUint32(nil, crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli)))
}

// versionOneBackup is a backup of one key as dynkv wrote it before
// buckets (backup format version 1), byte for byte.
func versionOneBackup(key, set string) []byte {
	b := append([]byte(backup.Magic), 1, 0, 0, 0, 0, 0, 0, 0, 0)
	rec := append([]byte{'R', byte(len(key))}, key...)
	rec = append(append(rec, byte(len(set))), set...)
	b = append(append(b, rec...), crc(rec)...)
	trailer := []byte{'E', 1}
	return append(append(b, trailer...), crc(trailer)...)
}

// bucket set --wait orders versions as the registry does: counter first,
// then the node that set them.
func TestCompareBucketVersions(t *testing.T) {
	v := func(c uint64, node string) sdk.BucketVersion { return sdk.BucketVersion{Counter: c, Node: node} }
	for _, tc := range []struct {
		a, b sdk.BucketVersion
		want int
	}{
		{v(1, "n1"), v(1, "n1"), 0},
		{v(1, "n9"), v(2, "n1"), -1},
		{v(3, "n1"), v(2, "n9"), 1},
		{v(2, "n1"), v(2, "n2"), -1},
	} {
		if got := compareVersions(tc.a, tc.b); got != tc.want {
			t.Errorf("compare %+v with %+v = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}
