package main

import (
	"encoding/base64"
	varint "encoding/binary"
	"fmt"
	"math"
	"net/url"
	"strings"
)

// The rows of TestHostileClients, by kind. Each request is sent exactly as
// written; want is "status [code]" with alternatives separated by "|"
// ("4xx" matches any client error). Rows named rfc/... follow RFC 9110/9112
// where docs/API.md says nothing.

const (
	hostileMaxValue = 64 << 10 // --max-value-bytes of the test cluster
	canaryKey       = "hostile-canary"
)

// absentKeys are keys hostile requests target that nothing may create.
var absentKeys = []string{canaryKey, "hk/absent", "hk/big", "hk/forged", "hk/smuggle", "hk/internode", "hk/admin", "hk/method", "hk/ctx"}

// setupKeys are written before the battery; they must be unchanged after it
// unless a row validly writes them.
var setupKeys = []kv{
	{"hk/plain", "plain value", "text/plain"},
	{"hk/json", `{"a":1}`, "application/json"},
	{"hk/binary", "\x00\x01\xfe\xff binary", "application/octet-stream"},
	{"hk/sp ace/é", "unicode key", "text/plain; charset=utf-8"},
	{"ok/padded", "before", "text/plain"},
	{"ro/read", "read only", "text/plain"}, // only ever read: positive controls
}

func hostileRows(e *env) []row {
	var rows []row
	for _, f := range []func(*env) []row{keyRows, quorumRows, contextRows, bodyRows, headerRows,
		methodRows, routeRows, smuggleRows, lineRows, clusterRows, internodeRows} {
		rows = append(rows, f(e)...)
	}
	return rows
}

// p is the path of key under /kv/.
func p(key string) string { return "/kv/" + url.PathEscape(key) }

// req is a well-formed HTTP/1.1 request; Content-Length is added for a body
// or a PUT/POST.
func req(method, target, body string, headers ...string) string {
	var b strings.Builder
	b.WriteString(method + " " + target + " HTTP/1.1\r\nHost: dynkv\r\n")
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	if body != "" || method == "PUT" || method == "POST" {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(body))
	}
	b.WriteString("\r\n" + body)
	return b.String()
}

func get(target string, h ...string) string       { return req("GET", target, "", h...) }
func put(target, body string, h ...string) string { return req("PUT", target, body, h...) }
func ctxH(token string) string                    { return "X-Causal-Context: " + token }

func keyRows(e *env) []row {
	k1025, k1024 := strings.Repeat("k", 1025), "ok/"+strings.Repeat("k", 1021)
	return []row{
		{name: "key/empty-get", req: get("/kv/"), want: "400 bad_key"},
		{name: "key/empty-put", req: put("/kv/", "x"), want: "400 bad_key"},
		{name: "key/empty-delete", req: req("DELETE", "/kv/", ""), want: "400 bad_key"},
		{name: "key/1025-get", req: get("/kv/" + k1025), want: "400 bad_key"},
		{name: "key/1025-put", req: put("/kv/"+k1025, "x"), want: "400 bad_key"},
		{name: "key/1025-percent-encoded", req: get("/kv/" + strings.Repeat("%6B", 1025)), want: "400 bad_key"},
		{name: "key/bad-escape-zz", req: get("/kv/%zz"), want: "400 bad_key"},
		{name: "key/bad-escape-trailing-%", req: put("/kv/abc%", "x"), want: "400 bad_key"},
		{name: "key/bad-escape-short", req: get("/kv/%4"), want: "400 bad_key"},
		{name: "key/bad-escape-G1", req: req("DELETE", "/kv/hk%2Fbad%G1", ""), want: "400 bad_key"},
		{name: "key/valid-encoded-slash", req: put(p("ok/slash"), "slash"), want: "204", writes: kv{key: "ok/slash", value: "slash"}},
		{name: "key/valid-nul-inside", req: put("/kv/ok%00nul", "nul"), want: "204", writes: kv{key: "ok\x00nul", value: "nul"}},
		// A leading NUL marks the internal keys of named buckets (package bucket).
		{name: "key/leading-nul", req: put("/kv/%00", "one nul"), want: "400 bad_key"},
		{name: "key/valid-1024-bytes", req: put("/kv/"+url.PathEscape(k1024), "long"), want: "204", writes: kv{key: k1024, value: "long"}},
		{name: "key/valid-dots-slashes", req: put("/kv/%2F%2F..%2F", "dots"), want: "204", writes: kv{key: "//../", value: "dots"}},
		{name: "key/valid-crlf-inside", req: put("/kv/ok%0D%0AX-Injected:%201", "crlf"), want: "204", writes: kv{key: "ok\r\nX-Injected: 1", value: "crlf"}},
		{name: "key/dotdot-not-normalised", req: get("/kv/.."), want: "404 not_found"},
		{name: "key/encoded-traversal", req: get("/kv/%2e%2e%2fetc%2fpasswd"), want: "404 not_found"},
		{name: "key/invalid-utf8-bytes", req: get("/kv/%FF%FE"), want: "404 not_found"},
	}
}

func quorumRows(e *env) []row {
	pl, c := p("hk/plain"), ctxH(e.ctx["hk/plain"])
	return []row{
		{name: "quorum/r=0", req: get(pl + "?r=0"), want: "400 bad_quorum"},
		{name: "quorum/r=4-with-N=3", req: get(pl + "?r=4"), want: "400 bad_quorum"},
		{name: "quorum/r=abc", req: get(pl + "?r=abc"), want: "400 bad_quorum"},
		{name: "quorum/r=-1", req: get(pl + "?r=-1"), want: "400 bad_quorum"},
		{name: "quorum/r=1.5", req: get(pl + "?r=1.5"), want: "400 bad_quorum"},
		{name: "quorum/r=empty", req: get(pl + "?r="), want: "400 bad_quorum"},
		{name: "quorum/r=overflow", req: get(pl + "?r=99999999999999999999"), want: "400 bad_quorum"},
		{name: "quorum/r-repeated", req: get(pl + "?r=1&r=4"), want: "400 bad_quorum"},
		{name: "quorum/w=0", req: put(pl+"?w=0", "bad", c), want: "400 bad_quorum"},
		{name: "quorum/w=4-with-N=3", req: put(pl+"?w=4", "bad", c), want: "400 bad_quorum"},
		{name: "quorum/w=abc", req: put(pl+"?w=abc", "bad", c), want: "400 bad_quorum"},
		{name: "quorum/w=-1", req: put(pl+"?w=-1", "bad", c), want: "400 bad_quorum"},
		{name: "quorum/w=1.5", req: put(pl+"?w=1.5", "bad", c), want: "400 bad_quorum"},
		{name: "quorum/w=nul", req: put(pl+"?w=1%00", "bad", c), want: "400 bad_quorum"},
		{name: "quorum/w-repeated", req: put(pl+"?w=2&w=4", "bad", c), want: "400 bad_quorum"},
		{name: "quorum/delete-w=abc", req: req("DELETE", pl+"?w=abc", "", c), want: "400 bad_quorum"},
		{name: "quorum/delete-w=0", req: req("DELETE", pl+"?w=0", "", c), want: "400 bad_quorum"},
		{name: "quorum/r=all-valid", req: get(p("ro/read") + "?r=all"), want: "200", body: "read only"},
	}
}

// token encodes a version-1 context naming each actor with counter max.
func token(version byte, actors []string, max uint64) string {
	b := varint.AppendUvarint([]byte{version}, uint64(len(actors)))
	for _, a := range actors {
		b = varint.AppendUvarint(b, uint64(len(a)))
		b = varint.AppendUvarint(append(b, a...), max)
		b = append(b, 0) // no cloud
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func contextRows(e *env) []row {
	var actors300 []string
	for i := range 300 {
		actors300 = append(actors300, fmt.Sprintf("x%03d.%012x", i, i))
	}
	pc := e.ctx["hk/plain"]
	var rows []row
	for i, a := range e.actors {
		rows = append(rows, row{name: fmt.Sprintf("ctx/forged-n%d-actor-2^64-1", i+1), on: i + 1,
			req: put(p("hk/forged"), "forged", ctxH(token(1, []string{a}, math.MaxUint64))), want: "400 bad_context"})
	}
	return append(rows, []row{
		{name: "ctx/forged-delete", on: 1, req: req("DELETE", p("hk/binary"), "", ctxH(token(1, []string{e.actors[0]}, math.MaxUint64))), want: "400 bad_context"},
		{name: "ctx/truncated-half", req: put(p("hk/plain"), "t", ctxH(pc[:len(pc)/2])), want: "400 bad_context"},
		{name: "ctx/truncated-1", req: put(p("hk/plain"), "t", ctxH(pc[:len(pc)-1])), want: "400 bad_context"},
		{name: "ctx/truncated-2", req: put(p("hk/plain"), "t", ctxH(pc[:len(pc)-2])), want: "400 bad_context"},
		{name: "ctx/oversized-64KiB+1", req: put(p("hk/ctx"), "t", ctxH(strings.Repeat("A", 64<<10+1))), want: "400 bad_context|431 headers_too_large"},
		{name: "ctx/garbage-base64", req: put(p("hk/ctx"), "t", ctxH("!!!not*base64!!!")), want: "400 bad_context"},
		{name: "ctx/base64-of-garbage", req: put(p("hk/ctx"), "t", ctxH(base64.RawURLEncoding.EncodeToString([]byte("hello garbage")))), want: "400 bad_context"},
		{name: "ctx/version-1-then-garbage", req: put(p("hk/ctx"), "t", ctxH(base64.RawURLEncoding.EncodeToString([]byte("\x01\xff\xff\xff\xff\xff")))), want: "400 bad_context"},
		{name: "ctx/version-9", req: put(p("hk/ctx"), "t", ctxH(token(9, []string{"a"}, 1))), want: "400 bad_context"},
		{name: "ctx/actors-out-of-order", req: put(p("hk/ctx"), "t", ctxH(token(1, []string{"b", "a"}, 1))), want: "400 bad_context"},
		{name: "ctx/valid-then-junk", req: put(p("hk/plain"), "t", ctxH(pc+"!!")), want: "400 bad_context"},
		{name: "ctx/other-key-put", req: put(p("hk/json"), "t", ctxH(pc)), want: "400 context_mismatch"},
		{name: "ctx/other-key-delete", req: req("DELETE", p("hk/json"), "", ctxH(pc)), want: "400 context_mismatch"},
		{name: "ctx/padded-accepted", req: put(p("ok/padded"), "after", ctxH(e.ctx["ok/padded"]+"==")), want: "204", writes: kv{key: "ok/padded", value: "after"}},
		{name: "ctx/300-actors-accepted", req: put(p("ok/actors300"), "many", ctxH(token(1, actors300, 1))), want: "204", writes: kv{key: "ok/actors300", value: "many"}},
	}...)
}

func bodyRows(e *env) []row {
	over := strings.Repeat("o", hostileMaxValue+1)
	head := "PUT " + p("hk/big") + " HTTP/1.1\r\nHost: dynkv\r\n"
	partial := strings.Repeat("p", 256<<10)
	return []row{
		{name: "body/max+1", req: put(p("hk/big"), over), want: "413 value_too_large"},
		{name: "body/max+1-chunked", req: head + "Transfer-Encoding: chunked\r\n\r\n" + fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(over), over), want: "413 value_too_large"},
		{name: "body/60MiB-CL-partial", req: head + fmt.Sprintf("Content-Length: %d\r\n\r\n", 60<<20) + partial, want: "413 value_too_large", closed: true},
		{name: "body/60MiB-chunk-partial", req: head + "Transfer-Encoding: chunked\r\n\r\n" + fmt.Sprintf("%x\r\n", 60<<20) + partial, want: "413 value_too_large", closed: true},
		// The limit is applied once a body's first bytes arrive (fasthttp
		// reads up to 8 KiB of it before any handler): a client that
		// declares a length and sends nothing waits out the read timeout.
		{name: "body/70MiB-CL-first-bytes", req: head + fmt.Sprintf("Content-Length: %d\r\n\r\n", 70<<20) + strings.Repeat("x", 16<<10), want: "413 value_too_large", closed: true},
		{name: "body/CL-negative", req: head + "Content-Length: -1\r\n\r\n", want: "400"},
		{name: "body/CL-not-a-number", req: head + "Content-Length: abc\r\n\r\nabc", want: "400"},
		{name: "body/CL-overflow", req: head + "Content-Length: 99999999999999999999999\r\n\r\n", want: "400|413 value_too_large"},
		{name: "body/chunk-size-garbage", req: head + "Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", want: "400", closed: true},
		{name: "body/exactly-max-accepted", req: put(p("ok/max"), over[1:]), want: "204", writes: kv{key: "ok/max", value: over[1:]}},
	}
}

func headerRows(e *env) []row {
	var many strings.Builder
	for i := range 4000 {
		fmt.Fprintf(&many, "X-Pad-%04d: %s\r\n", i, strings.Repeat("v", 16))
	}
	pl := p("hk/plain")
	return []row{
		{name: "hdr/one-100KiB-header", req: get(pl, "X-Big: "+strings.Repeat("a", 100<<10)), want: "431 headers_too_large"},
		{name: "hdr/4000-headers-120KiB", req: "GET " + pl + " HTTP/1.1\r\nHost: dynkv\r\n" + many.String() + "\r\n", want: "431 headers_too_large"},
		{name: "hdr/bare-CR-in-value", req: get(pl, "X-Foo: a\rX-Injected: 1"), want: "400|200"},
		{name: "hdr/bare-CR-in-content-type", req: put(p("ok/inject"), "i", "Content-Type: text/plain\rX-Injected: 1"), want: "400|204"},
		{name: "hdr/NUL-in-value", req: get(pl, "X-Foo: a\x00b"), want: "400|200"},
		{name: "hdr/obs-fold", req: get(pl, "X-Foo: a", " X-Injected: 1"), want: "400|200"},
		{name: "rfc/hdr/space-before-colon", req: get(pl, "X-Foo : a"), want: "400"},
		{name: "rfc/hdr/no-colon", req: get(pl, "NoColonHere"), want: "400"},
		{name: "rfc/hdr/missing-host", req: "GET " + pl + " HTTP/1.1\r\n\r\n", want: "400"},
		{name: "rfc/hdr/two-hosts", req: get(pl, "Host: other"), want: "400"},
		{name: "hdr/crlf-in-request-target", req: "GET /kv/a\r\nX-Injected: 1 HTTP/1.1\r\nHost: dynkv\r\n\r\n", want: "4xx"},
	}
}

func methodRows(e *env) []row {
	const kvAllow, getHead, getOnly, postOnly = "GET, PUT, DELETE", "GET, HEAD", "GET", "POST"
	pl, pm := p("hk/plain"), p("hk/method")
	m := func(name, method, path, allow string) row {
		return row{name: "method/" + name, req: req(method, path, "x"), want: "405 method_not_allowed", allow: allow}
	}
	return []row{
		m("kv-POST", "POST", pm, kvAllow), m("kv-PATCH", "PATCH", pm, kvAllow), m("kv-TRACE", "TRACE", pl, kvAllow),
		m("kv-OPTIONS", "OPTIONS", pl, kvAllow), m("kv-FOO", "FOO", pm, kvAllow), m("kv-lowercase-put", "put", pm, kvAllow),
		{name: "method/kv-HEAD", req: req("HEAD", pl, ""), want: "405", allow: kvAllow, head: true},
		m("healthz-POST", "POST", "/healthz", getHead), m("readyz-DELETE", "DELETE", "/readyz", getHead),
		m("livez-PUT", "PUT", "/livez", getHead), m("metrics-POST", "POST", "/metrics", getOnly),
		m("members-POST", "POST", "/cluster/members", getOnly), m("handoffs-DELETE", "DELETE", "/cluster/handoffs", getOnly),
		m("status-PUT", "PUT", "/cluster/status", getOnly), m("ring-POST", "POST", "/cluster/ring", getOnly),
		m("leave-GET", "GET", "/cluster/leave", postOnly), m("leave-DELETE", "DELETE", "/cluster/leave", postOnly),
		m("remove-GET", "GET", "/cluster/remove/n2", postOnly), m("admin-PUT", "PUT", "/admin/local/hk%2Fadmin", getOnly),
		m("admin-DELETE", "DELETE", "/admin/local/hk%2Fplain", getOnly),
		// The client port serves no internode route, whatever the method.
		{name: "method/internal-write-GET", req: req("GET", "/internal/v1/write", ""), want: "404 unknown_route"},
		{name: "method/internal-read-PUT", req: req("PUT", "/internal/v1/read", ""), want: "404 unknown_route"},
	}
}

func routeRows(e *env) []row {
	r := func(path string) row {
		return row{name: "route/" + path, req: get(path), want: "404 unknown_route"}
	}
	return []row{
		{name: "route/root", req: get("/"), want: "302"}, // to the dashboard
		r("/KV/x"), r("/kv%2Fx"), r("//kv/x"), r("/admin/local"), r("/admin"), r("/cluster"),
		r("/cluster/"), r("/cluster/nope"), r("/cluster/members/x"), r("/healthz/x"), r("/../etc/passwd"), r("/internal"),
		r("/%0D%0AX-Injected:%201"),
		// /kv alone is the key listing; hostile queries of it are refused.
		{name: "route/kv-list", req: get("/kv?limit=1"), want: "200"},
		{name: "route/kv-list-bad-limit", req: get("/kv?limit=-1"), want: "400 bad_request"},
		{name: "route/kv-list-long-prefix", req: get("/kv?prefix=" + strings.Repeat("p", 2000)), want: "400 bad_key"},
		{name: "route/kv-list-bad-base64", req: get("/kv?encoding=base64&after=%FF%FE"), want: "400 bad_request"},
		{name: "rfc/route/absolute-form", req: get("http://dynkv" + p("ro/read")), want: "200", body: "read only"},
		{name: "route/OPTIONS-asterisk", req: req("OPTIONS", "*", ""), want: "4xx"},
		{name: "route/CONNECT-authority", req: req("CONNECT", "127.0.0.1:22", ""), want: "4xx"},
	}
}

// smuggle is a request whose framing is ambiguous, carrying a second request
// that would write the canary.
func smuggle(framing, first string) string {
	second := put(p(canaryKey), "pwned")
	body := first + second
	return "PUT " + p("hk/smuggle") + " HTTP/1.1\r\nHost: dynkv\r\n" +
		strings.ReplaceAll(framing, "{LEN}", fmt.Sprint(len(body))) + "\r\n" + body
}

func smuggleRows(e *env) []row {
	s := func(name, framing, first string) row {
		return row{name: "smuggle/" + name, req: smuggle(framing, first), want: "400", closed: true}
	}
	return []row{
		s("CL.TE", "Content-Length: {LEN}\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n"),
		s("TE.CL", "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n", "0\r\n\r\n"),
		s("CL.TE-tab", "Content-Length: {LEN}\r\nTransfer-Encoding:\tchunked\r\n", "0\r\n\r\n"),
		s("CL.TE-xchunked", "Content-Length: 5\r\nTransfer-Encoding: xchunked\r\n", "0\r\n\r\n"),
		s("CL.TE-list", "Content-Length: 5\r\nTransfer-Encoding: identity, chunked\r\n", "0\r\n\r\n"),
		s("CL.TE-dup-TE", "Content-Length: 5\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n", "0\r\n\r\n"),
		s("CL.TE-uppercase", "Content-Length: 5\r\nTRANSFER-ENCODING: CHUNKED\r\n", "0\r\n\r\n"),
		s("rfc/two-different-CL", "Content-Length: 5\r\nContent-Length: 0\r\n", "0\r\n\r\n"),
		s("rfc/CL-plus-sign", "Content-Length: +5\r\n", "0\r\n\r\n"),
		s("rfc/TE-gzip-only", "Transfer-Encoding: gzip\r\n", "0\r\n\r\n"),
		{name: "smuggle/GET-CL.TE", req: "GET " + p("hk/plain") + " HTTP/1.1\r\nHost: dynkv\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + put(p(canaryKey), "pwned"), want: "400", closed: true},
	}
}

func lineRows(e *env) []row {
	l := func(name, raw, want string) row { return row{name: "line/" + name, req: raw, want: want} }
	const ver = "400|505"
	return []row{
		l("garbage", "GARBAGE\r\n\r\n", "400"), l("method-only", "GET\r\n\r\n", "400"),
		l("http/0.9", "GET "+p("hk/plain")+"\r\n\r\n", "4xx"), l("space-in-target", "GET /kv/a b HTTP/1.1\r\nHost: dynkv\r\n\r\n", "400"),
		l("leading-space", " GET / HTTP/1.1\r\nHost: dynkv\r\n\r\n", "400"), l("no-target", "GET HTTP/1.1\r\nHost: dynkv\r\n\r\n", "400"),
		l("binary-zeros", "\x00\x00\x00\x00\r\n\r\n", "4xx"),
		l("tls-client-hello-crlf", "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03"+strings.Repeat("\x00", 32)+"\r\n\r\n", "4xx"),
		l("rfc/version-HTTP/2.0", "GET / HTTP/2.0\r\nHost: dynkv\r\n\r\n", ver), l("rfc/version-HTTP/9.9", "GET / HTTP/9.9\r\nHost: dynkv\r\n\r\n", ver),
		l("version-HTTP/1.x", "GET / HTTP/1.x\r\nHost: dynkv\r\n\r\n", "400"), l("version-HTTPS/1.1", "GET / HTTPS/1.1\r\nHost: dynkv\r\n\r\n", "400"),
		l("version-lowercase", "GET / http/1.1\r\nHost: dynkv\r\n\r\n", "400"), l("version-HTTP/1.1.1", "GET / HTTP/1.1.1\r\nHost: dynkv\r\n\r\n", "400"),
		l("version-HTTP/", "GET / HTTP/\r\nHost: dynkv\r\n\r\n", "400"), l("h2-preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "4xx|505"),
		l("16KiB-target", get("/kv/"+strings.Repeat("a", 16<<10)), "400|414|431"),
		{name: "line/HTTP/1.0-valid", req: "GET " + p("ro/read") + " HTTP/1.0\r\n\r\n", want: "200", body: "read only"},
	}
}

func clusterRows(e *env) []row {
	rm := func(name, id string, on int, want string) row {
		return row{name: "cluster/remove-" + name, on: on, req: req("POST", "/cluster/remove/"+id, ""), want: want}
	}
	a := func(name, key, want string) row {
		return row{name: "admin/" + name, req: get("/admin/local/" + key), want: want}
	}
	return []row{
		rm("unknown", "n9", 0, "404 unknown_node"), rm("self", "n1", 1, "409 cannot_remove"),
		rm("alive-peer", "n2", 1, "409 cannot_remove"), rm("empty", "", 0, "400 bad_node"),
		rm("bad-escape", "%zz", 0, "400 bad_node"), rm("nul-suffix", "n1%00", 0, "404 unknown_node"),
		rm("2000-bytes", strings.Repeat("n", 2000), 0, "404 unknown_node"), rm("traversal", "n2%2F..", 0, "404 unknown_node"),
		{name: "cluster/remove-with-body", on: 1, req: req("POST", "/cluster/remove/n2", `{"force":true}`), want: "409 cannot_remove"},
		{name: "cluster/ring-empty-key", req: get("/cluster/ring?key="), want: "400 bad_key"},
		{name: "cluster/ring-1025-key", req: get("/cluster/ring?key=" + strings.Repeat("k", 1025)), want: "400 bad_key"},
		a("empty", "", "400 bad_key"), a("bad-escape", "%zz", "400 bad_key"), a("trailing-%", "abc%", "400 bad_key"),
		a("1025", strings.Repeat("k", 1025), "400 bad_key"), a("valid", "hk%2Fplain", "200"), a("leading-nul", "%00", "400 bad_key"),
	}
}

// wireWrite is an internode write request for key (empty context) with the
// given flags, then trailer.
func wireWrite(version byte, key string, flags byte, value, trailer string) string {
	b := varint.AppendUvarint([]byte{version}, uint64(len(key)))
	b = append(append(b, key...), 0, 0, flags) // empty context, empty content type
	b = varint.AppendUvarint(b, uint64(len(value)))
	return string(b) + value + trailer
}

// internodeRows send internode requests, well formed and not, to the client
// port, which serves no internode route: every one is refused and none
// writes anything (the canary keys stay absent).
func internodeRows(e *env) []row {
	in := func(name, op, body string) row {
		return row{name: "internode/" + name, req: req("POST", "/internal/v1/"+op, body), want: "4xx", internode: true}
	}
	ok := wireWrite(1, "hk/internode", 0, "hello", "")
	merge := wireWrite(1, "hk/internode", 0, "", "")[:14] + "\x09\x00\x00" // key, then a set of unknown version
	var rows []row
	for _, op := range []string{"read", "write", "merge", "hint-read", "hint-write", "hint-merge", "ae-children", "ae-entries", "reap"} {
		rows = append(rows, in(op+"-garbage", op, "garbage \x00\xff body"))
	}
	return append(rows,
		in("write-empty", "write", ""), in("write-trailing", "write", ok+"X"), in("write-bad-flags", "write", wireWrite(1, "hk/internode", 7, "hello", "")),
		in("write-truncated", "write", ok[:len(ok)-2]), in("write-version-2", "write", wireWrite(2, "hk/internode", 0, "hello", "")),
		in("merge-bad-set", "merge", merge), in("hint-write-no-target", "hint-write", "\x01\x00"+ok[1:]),
		in("unknown-op", "nope", ok), in("empty-op", "", ok))
}
