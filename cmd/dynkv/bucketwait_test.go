package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	sdk "github.com/dynkv/dynkv/client"
)

// propsMember is a member answering GET /buckets/b/props with its own
// version of the props.
func propsMember(t *testing.T, counter int) string {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"bucket":"b","props":{"n":2,"r":1,"w":1,"max_siblings":100,"max_value_bytes":1048576,"conflict":"siblings"},"version":{"counter":%d,"node":"n1"}}`, counter)
	}))
	t.Cleanup(s.Close)
	return strings.TrimPrefix(s.URL, "http://")
}

// bucket set --wait waits for every alive member to hold the version set,
// skips failed ones, names the ones that lack it when time runs out, and
// stops at once when a member holds a higher version.
func TestWaitBucketProps(t *testing.T) {
	want := sdk.BucketVersion{Counter: 2, Node: "n1"}
	for _, tc := range []struct {
		name     string
		counters []int // of n1, n2; n3 is failed
		err      string
	}{
		{"all have it", []int{2, 2}, ""},
		{"one lags", []int{2, 1}, "not every node had the props in time: n2 has 1 by n1"},
		{"superseded", []int{2, 3}, "superseded (n2 has version 3 by n1)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			members := fmt.Sprintf(`[{"id":"n1","http_addr":%q,"status":"alive"},{"id":"n2","http_addr":%q,"status":"alive"},`+
				`{"id":"n3","http_addr":"127.0.0.1:1","status":"failed"}]`, propsMember(t, tc.counters[0]), propsMember(t, tc.counters[1]))
			seed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprint(w, members)
			}))
			t.Cleanup(seed.Close)
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second) // "one lags" waits it out; a loaded machine still completes a round
			defer cancel()
			asked, err := waitBucketProps(ctx, sdkClient(t, seed.URL), "b", want)
			switch {
			case tc.err == "" && (err != nil || asked != 2):
				t.Errorf("asked %d members, %v; want 2 and no error", asked, err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Errorf("error %v, want one saying %q", err, tc.err)
			}
		})
	}
}
