//go:build unix

package node

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	verrors "github.com/pb33f/libopenapi-validator/errors"
	"github.com/pb33f/libopenapi-validator/helpers"
	"github.com/pb33f/libopenapi-validator/paths"
	"github.com/pb33f/libopenapi-validator/radix"
	"github.com/pb33f/libopenapi-validator/responses"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"

	"github.com/dynkv/dynkv/docs"
)

// specChecker validates exchanges with a node against the OpenAPI document
// the node served (docs/openapi.json), with pb33f's libopenapi-validator,
// which implements OpenAPI 3.1 and JSON Schema 2020-12. It keeps every
// exchange, so that the test can then check what they covered and that the
// validator refuses each of them mutated (openapi_test.go).
type specChecker struct {
	doc   map[string]any // the document as JSON, walked for coverage
	model *v3.Document
	v     validator.Validator
	opts  *config.ValidationOptions

	mu        sync.Mutex
	exchanges []exchange
}

// exchange is one request as the validator sees it and its answer.
type exchange struct {
	method, path string // path as sent: raw, query included
	reqBody      []byte
	reqHeaders   []string
	status       int
	header       http.Header
	body         []byte
	template     string // the spec path it matched; "" for none
	code         string // the error body's code, if any
}

// routeless names the component response that documents answers to
// requests no operation matches (docs/openapi.json, info.description),
// by status and error code.
var routeless = map[string]string{
	"405 method_not_allowed": "MethodNotAllowed",
	"404 unknown_route":      "UnknownRoute",
	"400 bad_key":            "EmptyKey",
	"400 bad_node":           "NoNodeNamed",
	"401 unauthenticated":    "Unauthenticated",
	"403 forbidden":          "Forbidden",
}

// newSpecChecker fetches /openapi.json from addr (headers: e.g. a token)
// and builds the validator from what was served.
func newSpecChecker(t *testing.T, addr string, headers ...string) *specChecker {
	t.Helper()
	res := do(t, "GET", addr, "/openapi.json", nil, headers...)
	if res.status != http.StatusOK || res.header.Get("Content-Type") != "application/json" || !bytes.Equal(res.body, docs.OpenAPI) {
		t.Fatalf("GET /openapi.json: %d %q, %d bytes; want 200 application/json, docs/openapi.json", res.status, res.header.Get("Content-Type"), len(res.body))
	}
	s := &specChecker{}
	if err := json.Unmarshal(res.body, &s.doc); err != nil {
		t.Fatalf("served document: %v", err)
	}
	if s.doc["openapi"] != "3.1.0" {
		t.Fatalf("served document declares openapi %v, want 3.1.0", s.doc["openapi"])
	}
	doc, err := libopenapi.NewDocument(res.body)
	if err != nil {
		t.Fatalf("parse the served document: %v", err)
	}
	model, err := doc.BuildV3Model()
	if err != nil {
		t.Fatalf("model of the served document: %v", err)
	}
	s.model = &model.Model
	// The path tree the validator builds for itself, so that matching a
	// path here agrees with its own.
	s.opts = config.NewValidationOptions(config.WithPathTree(radix.BuildPathTree(s.model)))
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatalf("validator: %v", errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		t.Fatalf("the served document is not valid OpenAPI 3.1: %s", describe(verrs))
	}
	s.v = v
	s.check(t, exchange{method: "GET", path: "/openapi.json", reqHeaders: headers, status: res.status, header: res.header, body: res.body}, true)
	return s
}

// call sends a request, wants status, and validates the answer against
// the spec; a request answered below 400 must itself be valid. The
// answer is kept for coverage and mutation.
func (s *specChecker) call(t *testing.T, want int, method, addr, path string, body []byte, headers ...string) httpResult {
	t.Helper()
	res := do(t, method, addr, path, body, headers...)
	if res.status != want {
		t.Fatalf("%s %s: %d %s, want %d", method, path, res.status, res.body, want)
	}
	s.check(t, exchange{method: method, path: path, reqBody: body, reqHeaders: headers,
		status: res.status, header: res.header, body: res.body}, want < 400)
	return res
}

// checkRaw validates an answer read off a raw connection to a request
// that net/http would not send as written.
func (s *specChecker) checkRaw(t *testing.T, method, path string, resp *http.Response, body string, headers ...string) {
	t.Helper()
	s.check(t, exchange{method: method, path: path, reqHeaders: headers, status: resp.StatusCode, header: resp.Header, body: []byte(body)}, false)
}

func (s *specChecker) check(t *testing.T, e exchange, requestValid bool) {
	t.Helper()
	if requestValid {
		if ok, errs := s.v.ValidateHttpRequestSync(e.request()); !ok {
			t.Errorf("%s %s: the request breaks the spec: %s", e.method, e.path, describe(errs))
		}
	}
	var body struct{ Code string }
	if strings.HasPrefix(e.header.Get("Content-Type"), "application/json") && e.status >= 400 {
		json.Unmarshal(e.body, &body)
	}
	e.code = body.Code
	template, problems := s.validateResponse(e)
	e.template = template
	if problems != "" {
		t.Errorf("%s %s answered %d %s %s\n  breaks the spec: %s", e.method, e.path, e.status, e.header, truncate(e.body), problems)
	}
	s.mu.Lock()
	s.exchanges = append(s.exchanges, e)
	s.mu.Unlock()
}

// validateResponse returns the spec path e's request matched ("" for
// none) and why its answer does not fit the spec ("" when it does).
func (s *specChecker) validateResponse(e exchange) (string, string) {
	req := e.request()
	item, _, template := paths.FindPath(req, s.model, s.opts)
	if item != nil && helpers.ExtractOperation(req, item) != nil {
		ok, errs := s.v.ValidateHttpResponse(req, e.response())
		if !ok {
			return template, describe(errs)
		}
		return template, ""
	}
	name, ok := routeless[fmt.Sprintf("%d %s", e.status, e.code)]
	if !ok {
		return "", fmt.Sprintf("no operation in the spec, and %d %q is no documented answer to an unlisted route or method", e.status, e.code)
	}
	return "", s.validateComponent(name, req, e.response())
}

// validateComponent checks an answer against the response the spec
// defines as components/responses/name.
func (s *specChecker) validateComponent(name string, req *http.Request, resp *http.Response) string {
	r, ok := s.model.Components.Responses.Get(name)
	if !ok {
		return "the spec has no components/responses/" + name
	}
	var problems []string
	if ok, errs := responses.ValidateResponseHeaders(req, resp, r.Headers, "", strconv.Itoa(resp.StatusCode)); !ok {
		problems = append(problems, describe(errs))
	}
	mt, ok := helpers.FindMediaType(r.Content, resp.Header.Get("Content-Type"))
	if !ok {
		return strings.Join(append(problems, "content type "+resp.Header.Get("Content-Type")+" not in "+name), "; ")
	}
	if ok, errs := responses.ValidateResponseSchema(&responses.ValidateResponseSchemaInput{
		Request: req, Response: resp, Schema: mt.Schema.Schema(), Version: 3.1,
	}); !ok {
		problems = append(problems, describe(errs))
	}
	return strings.Join(problems, "; ")
}

// request is e's request as the validator reads it. The path keeps its
// escapes (EscapedPath); a malformed escape is kept as literal text.
func (e exchange) request() *http.Request {
	raw, query, _ := strings.Cut(e.path, "?")
	u := &url.URL{Scheme: "http", Host: "node", Path: raw, RawQuery: query}
	if p, err := url.PathUnescape(raw); err == nil {
		u.Path, u.RawPath = p, raw
	}
	req := &http.Request{Method: e.method, URL: u, Header: http.Header{}, Host: "node",
		Body: io.NopCloser(bytes.NewReader(e.reqBody)), ContentLength: int64(len(e.reqBody))}
	for i := 0; i+1 < len(e.reqHeaders); i += 2 {
		req.Header.Set(e.reqHeaders[i], e.reqHeaders[i+1])
	}
	return req
}

func (e exchange) response() *http.Response {
	return &http.Response{StatusCode: e.status, Header: e.header.Clone(), Body: io.NopCloser(bytes.NewReader(e.body))}
}

// mutants are wrong versions of e's answer, each of which the spec must
// refuse: another status, a body of another shape, a required header
// missing.
func (e exchange) mutants() map[string]exchange {
	out := map[string]exchange{}
	m := e
	m.status = http.StatusTeapot
	out["status 418"] = m
	if strings.HasPrefix(e.header.Get("Content-Type"), "application/json") && e.method != "HEAD" {
		m = e
		m.body = []byte(`{"mutated":true}`)
		out["body of another shape"] = m
	}
	for _, h := range []string{HeaderContext, "Allow", "WWW-Authenticate"} {
		required := h == "Allow" || h == "WWW-Authenticate" ||
			(strings.Contains(e.template, "/kv/{key}") && (e.status == 200 || e.status == 204 || e.status == 300))
		if e.header.Get(h) != "" && required {
			m = e
			m.header = e.header.Clone()
			m.header.Del(h)
			out["without "+h] = m
		}
	}
	return out
}

// operations lists the spec's operations as "METHOD /template".
func (s *specChecker) operations() []string {
	var ops []string
	for path, item := range s.doc["paths"].(map[string]any) {
		for method := range item.(map[string]any) {
			if method != "parameters" {
				ops = append(ops, strings.ToUpper(method)+" "+path)
			}
		}
	}
	slices.Sort(ops)
	return ops
}

// documentedAnswers lists every "status code" the spec documents on some
// operation ("status" alone for an answer that is not an error).
func (s *specChecker) documentedAnswers() []string {
	set := map[string]bool{}
	for _, item := range s.doc["paths"].(map[string]any) {
		for method, op := range item.(map[string]any) {
			if method == "parameters" {
				continue
			}
			for status, r := range op.(map[string]any)["responses"].(map[string]any) {
				codes := s.errorCodes(r.(map[string]any))
				if len(codes) == 0 && status < "400" {
					set[status] = true // an error without a body (HEAD) has its codes on GET
				}
				for _, c := range codes {
					set[status+" "+c] = true
				}
			}
		}
	}
	out := slices.Collect(func(yield func(string) bool) {
		for k := range set {
			if !yield(k) {
				return
			}
		}
	})
	slices.Sort(out)
	return out
}

// errorCodes are the codes a response's error schema enumerates.
func (s *specChecker) errorCodes(r map[string]any) []string {
	if ref, ok := r["$ref"].(string); ok {
		r = s.resolve(ref)
	}
	content, _ := r["content"].(map[string]any)
	mt, _ := content["application/json"].(map[string]any)
	schema, _ := mt["schema"].(map[string]any)
	if ref, ok := schema["$ref"].(string); ok {
		schema = s.resolve(ref)
	}
	allOf, _ := schema["allOf"].([]any)
	var codes []string
	for _, part := range allOf {
		props, _ := part.(map[string]any)["properties"].(map[string]any)
		code, _ := props["code"].(map[string]any)
		enum, _ := code["enum"].([]any)
		for _, c := range enum {
			codes = append(codes, c.(string))
		}
	}
	return codes
}

func (s *specChecker) resolve(ref string) map[string]any {
	node := any(s.doc)
	for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
		node = node.(map[string]any)[part]
	}
	return node.(map[string]any)
}

func describe(errs []*verrors.ValidationError) string {
	var b strings.Builder
	for _, e := range errs {
		fmt.Fprintf(&b, "[%s: %s", e.Message, e.Reason)
		for _, f := range e.SchemaValidationErrors {
			fmt.Fprintf(&b, " (%s at %s)", f.Reason, f.KeywordLocation)
		}
		b.WriteString("] ")
	}
	return b.String()
}

func truncate(b []byte) string {
	if len(b) > 300 {
		return fmt.Sprintf("%q...", b[:300])
	}
	return fmt.Sprintf("%q", b)
}
