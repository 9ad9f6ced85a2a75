package client

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestRequestShape checks what goes on the wire: escaped keys, quorums,
// the context, content type and JSON reads.
func TestRequestShape(t *testing.T) {
	t.Parallel()
	f := newFakeNode(t, ok)
	c := newTestClient(t, []string{strings.TrimPrefix(f.URL, "http://")}) // bare host:port
	ctx := context.Background()
	cc, err := ParseCausalContext(" AQEPbjEuMWEyNjhjYTI3NTRlAQA ")
	if err != nil {
		t.Fatal(err)
	}
	key := "user/42 ?%#é\x00"
	next, err := c.Put(ctx, key, []byte("value"), cc, W(All), ContentType("text/plain"))
	if err != nil || next.String() != "AQIP" {
		t.Fatalf("Put: %v, %v", next, err)
	}
	r, body := f.lastRequest()
	if r.Method != "PUT" || r.URL.EscapedPath() != "/kv/user%2F42%20%3F%25%23%C3%A9%00" || r.URL.RawQuery != "w=all" ||
		r.Header.Get("X-Causal-Context") != cc.String() || r.Header.Get("Content-Type") != "text/plain" || body != "value" {
		t.Errorf("PUT request: %s %s?%s ctx=%q ct=%q body=%q", r.Method, r.URL.EscapedPath(), r.URL.RawQuery,
			r.Header.Get("X-Causal-Context"), r.Header.Get("Content-Type"), body)
	}
	if _, err := c.Put(ctx, "k", nil, CausalContext{}); err != nil {
		t.Fatal(err)
	}
	if r, _ := f.lastRequest(); r.ContentLength != 0 || r.Header.Get("X-Causal-Context") != "" {
		t.Errorf("empty PUT: length %d, context %q", r.ContentLength, r.Header.Get("X-Causal-Context"))
	}
	res, err := c.Get(ctx, key, R(Majority))
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := f.lastRequest(); r.URL.RawQuery != "r=quorum" || r.Header.Get("Accept") != "application/json" {
		t.Errorf("GET query %q accept %q", r.URL.RawQuery, r.Header.Get("Accept"))
	}
	want := time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC)
	if len(res.Siblings) != 1 || string(res.Siblings[0].Value) != "hi" || res.Siblings[0].ContentType != "text/plain" ||
		!res.Siblings[0].Modified.Equal(want) || res.Context.String() != "AQEP" || res.Node != "good" {
		t.Errorf("Get: %+v", res)
	}
	if err := c.Delete(ctx, key, res.Context, W(2)); err != nil {
		t.Fatal(err)
	}
	if r, _ := f.lastRequest(); r.Method != "DELETE" || r.URL.RawQuery != "w=2" || r.Header.Get("X-Causal-Context") != "AQEP" {
		t.Errorf("DELETE: %s ?%s ctx %q", r.Method, r.URL.RawQuery, r.Header.Get("X-Causal-Context"))
	}
	c.Placement(ctx, "a b/c") // the fake's answer is not a placement; only the request matters
	if r, _ := f.lastRequest(); r.URL.Path != "/cluster/ring" || r.URL.Query().Get("key") != "a b/c" {
		t.Errorf("Placement asked %s", r.URL)
	}
}

// TestClientSideValidation: requests the server would refuse are refused
// before sending.
func TestClientSideValidation(t *testing.T) {
	t.Parallel()
	f := newFakeNode(t, ok)
	c := newTestClient(t, []string{f.URL})
	ctx := context.Background()
	for name, err := range map[string]error{
		"empty key":    func() error { _, err := c.Get(ctx, ""); return err }(),
		"long key":     func() error { _, err := c.Get(ctx, strings.Repeat("k", MaxKeyLen+1)); return err }(),
		"bad quorum":   func() error { _, err := c.Put(ctx, "k", nil, CausalContext{}, W(-3)); return err }(),
		"nil merge":    func() error { _, err := c.Update(ctx, "k", nil, nil); return err }(),
		"long key put": c.Delete(ctx, strings.Repeat("k", MaxKeyLen+1), CausalContext{}),
	} {
		if !errors.Is(err, ErrBadRequest) {
			t.Errorf("%s: %v; want ErrBadRequest", name, err)
		}
	}
	if f.hits.Load() != 0 {
		t.Errorf("%d requests reached the node", f.hits.Load())
	}
	if _, err := c.Get(ctx, strings.Repeat("k", MaxKeyLen)); err != nil {
		t.Errorf("key of exactly %d bytes: %v", MaxKeyLen, err)
	}
}

func TestParseCausalContext(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "AQEPbjEuMWEyNjhjYTI3NTRlAQA", "ab-_==", "  AQ\t"} {
		if _, err := ParseCausalContext(s); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
	for _, s := range []string{"a b", "AQ+/", "AQ\n..", strings.Repeat("A", maxContextLen+1)} {
		if _, err := ParseCausalContext(s); !errors.Is(err, ErrBadRequest) {
			t.Errorf("%q: %v; want ErrBadRequest", s, err)
		}
	}
	cc, _ := ParseCausalContext("AQEP")
	var back CausalContext
	if b, _ := cc.MarshalText(); back.UnmarshalText(b) != nil || back != cc || cc.IsZero() || !(CausalContext{}).IsZero() {
		t.Errorf("text round trip: %v -> %v", cc, back)
	}
}

func TestParseQuorum(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]Quorum{"one": One, "quorum": Majority, "all": All, "1": 1, "3": 3} {
		if q, err := ParseQuorum(s); err != nil || q != want {
			t.Errorf("%q: %v, %v", s, q, err)
		}
		if q, _ := ParseQuorum(s); s != "one" && q.String() != s {
			t.Errorf("%q renders as %q", s, q)
		}
	}
	for _, s := range []string{"", "0", "-1", "two", "majority"} {
		if _, err := ParseQuorum(s); !errors.Is(err, ErrBadRequest) {
			t.Errorf("%q: %v", s, err)
		}
	}
}

func TestNewEndpoints(t *testing.T) {
	t.Parallel()
	c, err := New([]string{"127.0.0.1:1", "http://127.0.0.1:2/", "https://h:3", "127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.Endpoints(), " "); got != "http://127.0.0.1:1 http://127.0.0.1:2 https://h:3" {
		t.Errorf("endpoints %s", got)
	}
	for _, bad := range [][]string{nil, {"ftp://h:1"}, {"http://h:1/path"}, {"http://u@h:1"}, {"http://"}} {
		if _, err := New(bad); err == nil {
			t.Errorf("New(%q) accepted", bad)
		}
	}
	if _, err := New([]string{"h:1"}, WithMaxAttempts(0)); err == nil {
		t.Error("WithMaxAttempts(0) accepted")
	}
}
