package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dynkv/dynkv/bucket"
)

// TestBucketRequestShape: a named bucket's calls go to its routes, with the
// default bucket's options and headers; the Client's own calls stay on /kv.
func TestBucketRequestShape(t *testing.T) {
	t.Parallel()
	f := newFakeNode(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/kv") {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"keys":["YS8x"],"next":""}`)
			return
		}
		ok(w, r)
	})
	c := newTestClient(t, []string{f.URL})
	ctx := context.Background()
	carts := c.Bucket("carts")
	if carts.Name() != "carts" || c.Bucket(DefaultBucket) != c.def {
		t.Fatalf("Bucket: %q, default shared: %v", carts.Name(), c.Bucket(DefaultBucket) == c.def)
	}
	check := func(what, method, path, query string) {
		t.Helper()
		r, _ := f.lastRequest()
		if r.Method != method || r.URL.EscapedPath() != path || r.URL.RawQuery != query {
			t.Errorf("%s sent %s %s?%s; want %s %s?%s", what, r.Method, r.URL.EscapedPath(), r.URL.RawQuery, method, path, query)
		}
	}
	cc, err := carts.Put(ctx, "u/1", []byte("v"), CausalContext{token: "AQEP"}, W(All), TTL(time.Minute))
	if err != nil || cc.String() != "AQIP" {
		t.Fatalf("Put: %v, %v", cc, err)
	}
	check("Put", "PUT", "/buckets/carts/kv/u%2F1", "w=all&ttl=60000ms")
	if r, body := f.lastRequest(); r.Header.Get("X-Causal-Context") != "AQEP" || body != "v" {
		t.Errorf("Put: context %q, body %q", r.Header.Get("X-Causal-Context"), body)
	}
	res, err := carts.Get(ctx, "u/1", R(One))
	if err != nil || string(res.Siblings[0].Value) != "hi" {
		t.Fatalf("Get: %+v, %v", res, err)
	}
	check("Get", "GET", "/buckets/carts/kv/u%2F1", "r=1")
	if err := carts.Delete(ctx, "u/1", res.Context); err != nil {
		t.Fatal(err)
	}
	check("Delete", "DELETE", "/buckets/carts/kv/u%2F1", "")
	page, err := carts.List(ctx, "a/", "", 10)
	if err != nil || len(page.Keys) != 1 || page.Keys[0] != "a/1" {
		t.Fatalf("List: %+v, %v", page, err)
	}
	check("List", "GET", "/buckets/carts/kv", "encoding=base64&limit=10&prefix=YS8%3D")
	if _, err := carts.Update(ctx, "u/2", func(v [][]byte) ([]byte, error) { return v[0], nil }, nil, MaxRounds(1)); err != nil {
		t.Fatal(err)
	}
	check("Update", "PUT", "/buckets/carts/kv/u%2F2", "")
	carts.RawSet(ctx, "u/1") // the fake's answer is not a set; only the request matters
	check("RawSet", "GET", "/admin/set/u%2F1", "bucket=carts")
	if err := carts.MergeSet(ctx, "u/1", []byte{1}); err != nil {
		t.Fatal(err)
	}
	check("MergeSet", "POST", "/admin/set/u%2F1", "bucket=carts")

	// The default bucket, by either spelling, keeps the routes it had.
	c.Bucket(DefaultBucket).Get(ctx, "k")
	check("default Get", "GET", "/kv/k", "")
	c.Put(ctx, "k", nil, CausalContext{})
	check("Client.Put", "PUT", "/kv/k", "")
	c.RawSet(ctx, "k")
	check("Client.RawSet", "GET", "/admin/set/k", "")
	c.List(ctx, "", "", 0)
	check("Client.List", "GET", "/kv", "encoding=base64")
}

// TestBucketErrors: a bad bucket name fails every call before anything
// is sent, and errors name the bucket.
func TestBucketErrors(t *testing.T) {
	t.Parallel()
	f := newFakeNode(t, apiError(http.StatusNotFound, CodeNotFound, ""))
	c := newTestClient(t, []string{f.URL})
	ctx := context.Background()
	bad := c.Bucket("Carts")
	for name, err := range map[string]error{
		"get":                func() error { _, err := bad.Get(ctx, "k"); return err }(),
		"put":                func() error { _, err := bad.Put(ctx, "k", nil, CausalContext{}); return err }(),
		"delete":             bad.Delete(ctx, "k", CausalContext{}),
		"list":               func() error { _, err := bad.List(ctx, "", "", 0); return err }(),
		"raw set":            func() error { _, err := bad.RawSet(ctx, "k"); return err }(),
		"merge set":          bad.MergeSet(ctx, "k", nil),
		"props":              func() error { _, err := c.BucketProps(ctx, "-x"); return err }(),
		"set props":          func() error { _, err := c.SetBucketProps(ctx, strings.Repeat("a", 65), BucketProps{}); return err }(),
		"NUL key":            func() error { _, err := c.Bucket("carts").Put(ctx, "\x00carts", nil, CausalContext{}); return err }(),
		"NUL key in default": func() error { _, err := c.Get(ctx, "\x00a"); return err }(),
	} {
		if !errors.Is(err, ErrBadRequest) {
			t.Errorf("%s in a badly named bucket: %v; want ErrBadRequest", name, err)
		}
	}
	if f.hits.Load() != 0 {
		t.Errorf("%d requests reached the node", f.hits.Load())
	}
	_, err := c.Bucket("carts").Get(ctx, "u/1")
	if !errors.Is(err, ErrNotFound) || !strings.HasPrefix(err.Error(), `client: get "u/1" in bucket carts: not_found`) {
		t.Errorf("get of a missing key in a bucket: %v", err)
	}
	if _, err := c.Get(ctx, "u/1"); !strings.HasPrefix(err.Error(), `client: get "u/1": not_found`) {
		t.Errorf("get of a missing key in the default bucket: %v", err)
	}
	if _, err := c.Bucket("carts").List(ctx, "", "", 0); !strings.HasPrefix(err.Error(), "client: list in bucket carts: ") {
		t.Errorf("list in a bucket: %v", err)
	}
}

// TestCheckBucketNameAgrees: the SDK's copy of the name rule (it must not
// import server packages) accepts exactly what the server's does.
func TestCheckBucketNameAgrees(t *testing.T) {
	for _, name := range []string{"", "a", "carts", "a.b_c-d", "0day", strings.Repeat("z", 64), strings.Repeat("z", 65),
		"Carts", "-x", ".x", "_x", "a b", "a/b", "é", "a\x00", "default", "a..b", "x-"} {
		checkNameAgrees(t, name)
	}
}

func FuzzCheckBucketName(f *testing.F) {
	for _, s := range []string{"carts", "a.b", "-x", "A", ""} {
		f.Add(s)
	}
	f.Fuzz(checkNameAgrees)
}

func checkNameAgrees(t *testing.T, name string) {
	sdk, srv := CheckBucketName(name), bucket.CheckName(name)
	if (sdk == nil) != (srv == nil) {
		t.Errorf("name %q: the SDK says %v, the server %v", name, sdk, srv)
	}
	if sdk != nil && !errors.Is(sdk, ErrBadRequest) {
		t.Errorf("name %q: %v does not match ErrBadRequest", name, sdk)
	}
}

// The answers of the API's contract for the bucket routes.
const (
	bucketsAnswer = `{"buckets":[{"name":"default","props":{"n":3,"r":2,"w":2,"max_siblings":100,"max_value_bytes":1048576,"conflict":"siblings"}},` +
		`{"name":"carts","props":{"n":3,"r":2,"w":2,"max_siblings":100,"max_value_bytes":1048576,"default_ttl":"30m0s","conflict":"lww"},"version":{"counter":3,"node":"n1"}}]}`
	propsAnswer = `{"bucket":"carts","props":{"n":3,"r":2,"w":2,"max_siblings":100,"max_value_bytes":1048576,"default_ttl":"30m0s","conflict":"siblings"},` +
		`"version":{"counter":3,"node":"n1"}}`
	setPropsAnswer = `{"bucket":"carts","props":{"n":2,"r":1,"w":2,"max_siblings":100,"max_value_bytes":1048576,"default_ttl":"168h0m0s","conflict":"lww"},` +
		`"version":{"counter":4,"node":"n2"},"acknowledged_by":3,"members":3}`
)

// TestBucketProps reads and sets props against the contract's answers.
func TestBucketProps(t *testing.T) {
	t.Parallel()
	f := newFakeNode(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/buckets":
			fmt.Fprint(w, bucketsAnswer)
		case r.Method == http.MethodGet:
			fmt.Fprint(w, propsAnswer)
		default:
			fmt.Fprint(w, setPropsAnswer)
		}
	})
	c := newTestClient(t, []string{f.URL})
	ctx := context.Background()
	list, err := c.Buckets(ctx)
	if err != nil || len(list) != 2 || list[0].Name != "default" || list[0].Version != nil || list[0].Props.DefaultTTL != 0 ||
		list[1].Props.DefaultTTL != 30*time.Minute || list[1].Props.Conflict != ConflictLWW || *list[1].Version != (BucketVersion{3, "n1"}) {
		t.Fatalf("Buckets: %+v, %v", list, err)
	}
	info, err := c.BucketProps(ctx, "carts")
	want := BucketProps{N: 3, R: 2, W: 2, MaxSiblings: 100, MaxValueBytes: 1 << 20, DefaultTTL: 30 * time.Minute, Conflict: ConflictSiblings}
	if err != nil || info.Name != "carts" || info.Props != want || info.Version.Counter != 3 {
		t.Fatalf("BucketProps: %+v, %v", info, err)
	}
	if r, _ := f.lastRequest(); r.URL.Path != "/buckets/carts/props" {
		t.Errorf("BucketProps asked %s", r.URL)
	}
	res, err := c.SetBucketProps(ctx, "carts", BucketProps{N: 2, R: 1, DefaultTTL: 7 * 24 * time.Hour, Conflict: ConflictLWW})
	if err != nil || res.AcknowledgedBy != 3 || res.Members != 3 || res.Props.N != 2 || res.Props.W != 2 || res.Version.Node != "n2" {
		t.Fatalf("SetBucketProps: %+v, %v", res, err)
	}
	r, body := f.lastRequest()
	if r.Method != http.MethodPut || r.URL.Path != "/buckets/carts/props" || r.Header.Get("Content-Type") != "application/json" ||
		body != `{"n":2,"r":1,"default_ttl":"168h0m0s","conflict":"lww"}` {
		t.Errorf("SetBucketProps sent %s %s %q: %s", r.Method, r.URL.Path, r.Header.Get("Content-Type"), body)
	}
}

// TestBucketPropsTypesAreStrict: the SDK's types know every field of the
// contract's answers (the shared cluster's answers are checked the same
// way by TestBucketsStrict).
func TestBucketPropsTypesAreStrict(t *testing.T) {
	for answer, list := range map[string]bool{bucketsAnswer: true, propsAnswer: false, setPropsAnswer: false} {
		if err := strictBucketAnswer([]byte(answer), list); err != nil {
			t.Errorf("the SDK lacks a field of %s: %v", answer, err)
		}
	}
	if err := strictBucketAnswer([]byte(`{"bucket":"a","props":{"n":3,"new":1}}`), false); err == nil {
		t.Error("an unknown props field passed the strict check")
	}
}

// TestBucketPropsErrors: refusals keep their codes and sentinels.
func TestBucketPropsErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		status int
		code   string
		want   error
	}{
		{400, CodeBadProps, ErrBadRequest}, {400, CodeBadBucket, ErrBadRequest}, {403, CodeForbidden, ErrForbidden},
	} {
		f := newFakeNode(t, apiError(tc.status, tc.code, ""))
		c := newTestClient(t, []string{f.URL})
		_, err := c.SetBucketProps(ctx, "carts", BucketProps{R: 5})
		var ae *APIError
		if !errors.Is(err, tc.want) || !errors.As(err, &ae) || ae.Code != tc.code ||
			!strings.HasPrefix(err.Error(), `client: set bucket props "carts": `+tc.code) {
			t.Errorf("%d %s: %v", tc.status, tc.code, err)
		}
	}
}

func TestWireDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		`"30m0s"`: 30 * time.Minute, `"30m"`: 30 * time.Minute, `"90"`: 90 * time.Second, `3600`: time.Hour,
		`"0s"`: 0, `""`: 0, `0`: 0, `null`: 0, `"1.5s"`: 1500 * time.Millisecond,
	} {
		var d wireDuration
		if err := json.Unmarshal([]byte(in), &d); err != nil || time.Duration(d) != want {
			t.Errorf("%s: %v, %v; want %v", in, time.Duration(d), err, want)
		}
	}
	for _, in := range []string{`"soon"`, `-5`, `"1e30"`, `true`, `{}`} {
		var d wireDuration
		if err := json.Unmarshal([]byte(in), &d); err == nil {
			t.Errorf("%s read as %v", in, time.Duration(d))
		}
	}
}

// FuzzBucketPropsJSON: any input decodes or fails without panicking, and
// what decodes survives a round trip.
func FuzzBucketPropsJSON(f *testing.F) {
	for _, s := range []string{propsAnswer, `{"default_ttl":3600}`, `{"n":-1,"default_ttl":"-5m"}`, `{}`, `[]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var p BucketProps
		if json.Unmarshal(b, &p) != nil {
			return
		}
		out, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("%+v does not marshal: %v", p, err)
		}
		var back BucketProps
		if err := json.Unmarshal(out, &back); err != nil || back != p {
			t.Fatalf("%+v → %s → %+v, %v", p, out, back, err)
		}
	})
}

// strictBucketAnswer decodes an answer of a bucket route into the SDK's
// wire type for it (list: GET /buckets; else a props answer), failing on
// any field the SDK lacks, also inside props (which has its own decoder).
func strictBucketAnswer(b []byte, list bool) error {
	var v any = &bucketPropsAnswer{}
	if list {
		v = &bucketListJSON{}
	}
	if err := strictDecode(b, v); err != nil {
		return err
	}
	var generic struct {
		Props   json.RawMessage `json:"props"`
		Buckets []struct {
			Props json.RawMessage `json:"props"`
		} `json:"buckets"`
	}
	if err := json.Unmarshal(b, &generic); err != nil {
		return err
	}
	props := []json.RawMessage{generic.Props}
	if list {
		props = props[:0]
		for _, b := range generic.Buckets {
			props = append(props, b.Props)
		}
	}
	for _, p := range props {
		if err := strictDecode(p, &bucketPropsJSON{}); err != nil {
			return fmt.Errorf("props: %w", err)
		}
	}
	return nil
}

func strictDecode(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}
