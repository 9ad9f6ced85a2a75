package node

import (
	"encoding/json"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The Grafana dashboard (deploy/grafana/dynkv.json) may only chart series a
// node exports: every metric of every PromQL expression in it, and of its
// variables' queries, must be in a real node's /metrics once it has served
// a few requests (histograms appear with their first observation).
func TestDashboardMetricsExist(t *testing.T) {
	exprs, varMetrics := dashboardQueries(t, "../deploy/grafana/dynkv.json")
	c := startCluster(t, LocalClusterOptions{Nodes: 3, HTTP: true})
	addr := c.Addr(0)
	if res := do(t, "PUT", addr, kvPath("dash"), []byte("v")); res.status != http.StatusNoContent {
		t.Fatalf("PUT: %d %s", res.status, res.body)
	}
	res := do(t, "GET", addr, kvPath("dash"), nil)
	if res.status != http.StatusOK {
		t.Fatalf("GET: %d %s", res.status, res.body)
	}
	if res := do(t, "DELETE", addr, kvPath("dash"), nil, HeaderContext, res.header.Get(HeaderContext)); res.status != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", res.status, res.body)
	}
	exported := map[string]bool{}
	for line := range strings.Lines(string(do(t, "GET", addr, "/metrics", nil).body)) {
		if name, _, ok := strings.Cut(line, " "); ok && !strings.HasPrefix(line, "#") {
			name, _, _ = strings.Cut(name, "{")
			exported[name] = true
		}
	}

	used := map[string]bool{}
	for _, e := range exprs {
		names := metricNames(e)
		if len(names) == 0 {
			t.Errorf("no metric in %q", e)
		}
		for _, n := range append(names, varMetrics...) {
			used[n] = true
			if !exported[n] {
				t.Errorf("%s (in %q) is not in a node's /metrics", n, e)
			}
		}
	}
	// What an operator looks at first must be there.
	for _, want := range []string{"dynkv_requests_total", "dynkv_request_duration_seconds_bucket", "dynkv_hints_pending",
		"dynkv_handoff_keys_total", "dynkv_antientropy_exchanges_total", "dynkv_disk_free_bytes", "dynkv_store_bytes", "dynkv_build_info"} {
		if !used[want] {
			t.Errorf("the dashboard does not chart %s", want)
		}
	}
}

// dashboardQueries returns the PromQL of every panel target (rows' nested
// panels included) and the metrics the variables' label_values queries read.
func dashboardQueries(t *testing.T, path string) (exprs, varMetrics []string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	type panel struct {
		Title   string `json:"title"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
		Panels []json.RawMessage `json:"panels"`
	}
	var dash struct {
		Panels     []json.RawMessage `json:"panels"`
		Templating struct {
			List []struct {
				Query any `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var walk func([]json.RawMessage)
	walk = func(ps []json.RawMessage) {
		for _, r := range ps {
			var p panel
			if err := json.Unmarshal(r, &p); err != nil {
				t.Fatalf("%s: panel: %v", path, err)
			}
			for _, tg := range p.Targets {
				if tg.Expr == "" {
					t.Errorf("panel %q has a target without an expression", p.Title)
				}
				exprs = append(exprs, tg.Expr)
			}
			walk(p.Panels)
		}
	}
	walk(dash.Panels)
	for _, v := range dash.Templating.List {
		if q, ok := v.Query.(string); ok {
			for _, m := range regexp.MustCompile(`label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)`).FindAllStringSubmatch(q, -1) {
				varMetrics = append(varMetrics, m[1])
			}
		}
	}
	if len(exprs) == 0 {
		t.Fatalf("%s: no queries", path)
	}
	return exprs, varMetrics
}

// PromQL words that are not metric names: aggregations (which may take
// their "by" clause before the parenthesis), binary and modifier keywords.
var promqlWords = map[string]bool{
	"sum": true, "min": true, "max": true, "avg": true, "group": true, "stddev": true, "stdvar": true, "count": true,
	"count_values": true, "bottomk": true, "topk": true, "quantile": true, "limitk": true, "limit_ratio": true,
	"and": true, "or": true, "unless": true, "atan2": true, "bool": true, "offset": true,
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
	"inf": true, "nan": true,
}

// metricNames returns the metric names a PromQL expression selects: its
// identifiers outside strings, label matchers ({...}), ranges ([...]),
// grouping lists (by (...) and the like), Grafana variables ($x, ${x}),
// numbers and durations, that are neither keywords nor called as
// functions.
func metricNames(expr string) []string {
	var names []string
	isIdent := func(c byte, first bool) bool {
		return c == '_' || c == ':' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || !first && '0' <= c && c <= '9'
	}
	nextNonSpace := func(i int) int {
		for i < len(expr) && (expr[i] == ' ' || expr[i] == '\t' || expr[i] == '\n') {
			i++
		}
		return i
	}
	for i := 0; i < len(expr); {
		c := expr[i]
		switch {
		case c == '"' || c == '\'' || c == '`':
			i = skipString(expr, i)
		case c == '{':
			i = skipGroup(expr, i, '{', '}')
		case c == '[':
			i = skipGroup(expr, i, '[', ']')
		case c == '$':
			i++
			if i < len(expr) && expr[i] == '{' {
				i = skipGroup(expr, i, '{', '}')
			}
			for i < len(expr) && isIdent(expr[i], false) {
				i++
			}
		case '0' <= c && c <= '9' || c == '.':
			for i < len(expr) && (isIdent(expr[i], false) || expr[i] == '.') {
				i++ // a number or a duration such as 5m
			}
		case isIdent(c, true):
			start := i
			for i < len(expr) && isIdent(expr[i], false) {
				i++
			}
			word, next := expr[start:i], nextNonSpace(i)
			switch {
			case promqlWords[word]:
				if slices.Contains([]string{"by", "without", "on", "ignoring", "group_left", "group_right"}, word) && next < len(expr) && expr[next] == '(' {
					i = skipGroup(expr, next, '(', ')')
				}
			case next < len(expr) && expr[next] == '(':
				// a function call
			default:
				names = append(names, word)
			}
		default:
			i++
		}
	}
	return names
}

// skipString returns the index after the string literal at i.
func skipString(s string, i int) int {
	q := s[i]
	for i++; i < len(s); i++ {
		switch {
		case s[i] == '\\' && q != '`':
			i++
		case s[i] == q:
			return i + 1
		}
	}
	return i
}

// skipGroup returns the index after the group opened at i, skipping
// strings inside it.
func skipGroup(s string, i int, open, closer byte) int {
	depth := 0
	for i < len(s) {
		switch c := s[i]; {
		case c == '"' || c == '\'' || c == '`':
			i = skipString(s, i)
			continue
		case c == open:
			depth++
		case c == closer:
			depth--
			if depth == 0 {
				return i + 1
			}
		}
		i++
	}
	return i
}

func TestMetricNames(t *testing.T) {
	for expr, want := range map[string][]string{
		`sum by (op, code) (rate(dynkv_requests_total{job=~"$job", code=~"4..|5.."}[$__rate_interval]))`:              {"dynkv_requests_total"},
		`histogram_quantile(0.99, sum by (le, op) (rate(dynkv_request_duration_seconds_bucket{instance="a:1"}[5m])))`: {"dynkv_request_duration_seconds_bucket"},
		`sum(rate(a_total[1m] offset 5m)) / on (instance) group_left (version) b_info > bool 0`:                       {"a_total", "b_info"},
		`count by (version) (dynkv_build_info{commit!~"x\"}y"})`:                                                      {"dynkv_build_info"},
		`max without (status) (dynkv_members) and ignoring (x) up == 1e3`:                                             {"dynkv_members", "up"},
		`${datasource} + 2`: nil,
	} {
		if got := metricNames(expr); !slices.Equal(got, want) {
			t.Errorf("metricNames(%q) = %q; want %q", expr, got, want)
		}
	}
}
