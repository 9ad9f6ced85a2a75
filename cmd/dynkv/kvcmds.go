package main

// The client commands on keys: get, put and delete. They talk to a
// cluster through the Go SDK (package client), imported as sdk because the
// tests of this package have a variable named client.

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	sdk "github.com/dynkv/dynkv/client"
)

// kvDefaultEndpoints are the nodes of `dynkv dev` with its default ports,
// bare so that --ca-cert makes them https.
const kvDefaultEndpoints = "127.0.0.1:8081,127.0.0.1:8082,127.0.0.1:8083"

// kvCmd is what every client command shares: its flags, the cluster's
// endpoints, the output format and a bound on the whole command.
type kvCmd struct {
	name string
	f    *flags

	endpoints []string
	output    string
	timeout   time.Duration
	security  clientSecurity
	// confirm, when set, runs after parsing and before --timeout starts:
	// it asks before a command that cannot be undone (confirm.go).
	confirm func(args []string) error
}

func newKVCmd(name, usage, summary string, outputs ...string) *kvCmd {
	c := &kvCmd{name: name, f: newFlags(usage, summary)}
	c.f.list(&c.endpoints, "endpoints", "dynkv nodes to use, `URLs` or host:port, comma-separated; the first that answers serves")
	c.f.defaultText["endpoints"] = kvDefaultEndpoints + " (http, or https with --ca-cert)"
	c.f.share("endpoints")
	c.f.choice(&c.output, "output", "text", outputs,
		"output `format`: "+strings.Join(outputs, ", ")+" (short: -o)")
	c.f.DurationVar(&c.timeout, "timeout", 15*time.Second, "bound on the whole command, a `duration`")
	c.security.register(c.f)
	return c
}

// defaultTimeout replaces --timeout's default, for commands whose work
// takes longer than one request (a leave's handoff, a listing, a backup).
func (c *kvCmd) defaultTimeout(d string) {
	timeout := c.f.Lookup("timeout")
	timeout.Value.Set(d)
	timeout.DefValue = timeout.Value.String()
}

// parse reads flags placed anywhere among the arguments
// (flags.parseInterspersed) and returns the positional arguments.
func (c *kvCmd) parse(args []string, lookupEnv func(string) (string, bool)) ([]string, error) {
	positional, err := c.f.parseInterspersed(args, lookupEnv)
	if err != nil {
		return nil, err
	}
	if len(c.endpoints) == 0 {
		c.endpoints = strings.Split(kvDefaultEndpoints, ",")
	}
	if c.timeout <= 0 {
		return nil, errors.New("--timeout must be positive")
	}
	return positional, nil
}

// run parses args, then runs body with a client and a context bounded by
// --timeout. It maps errors to exit codes: 2 with the usage hint for bad
// usage, 1 with one line for anything else.
func (c *kvCmd) run(args []string, stdout, stderr io.Writer, lookupEnv func(string) (string, bool), nargs [2]int,
	body func(ctx context.Context, cl *sdk.Client, args []string) error) int {
	pos, err := c.parse(args, lookupEnv)
	if err == nil && (len(pos) < nargs[0] || len(pos) > nargs[1]) {
		err = c.argCountError(pos, nargs)
	}
	switch {
	case errors.Is(err, flag.ErrHelp):
		c.f.printUsage(stdout)
		return 0
	case err != nil:
		fmt.Fprintf(stderr, "dynkv %s: %v (see dynkv %s --help)\n", c.name, oneLine(err), c.name)
		return 2
	}
	opts, err := c.security.sdkOptions()
	var cl *sdk.Client
	if err == nil {
		cl, err = sdk.New(c.endpoints, opts...)
	}
	if err != nil {
		fmt.Fprintf(stderr, "dynkv %s: %v (see dynkv %s --help)\n", c.name, oneLine(err), c.name)
		return 2
	}
	defer cl.Close()
	if c.confirm != nil {
		if err := c.confirm(pos); err != nil {
			return c.report(stderr, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	return c.report(stderr, body(ctx, cl, pos))
}

// report prints a command's error as one line and returns the exit code:
// 0 for none, 2 with the usage hint for a usageError, 1 for the rest.
func (c *kvCmd) report(stderr io.Writer, err error) int {
	if err == nil {
		return 0
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "dynkv %s: %v (see dynkv %s --help)\n", c.name, oneLine(err), c.name)
		return 2
	}
	fmt.Fprintln(stderr, cliMessage(c.name, err)+authHint(err))
	return 1
}

// cliMessage is err as one line naming the command. The SDK's errors name
// their operation already, after "client: " ("client: get \"k\": ..."):
// the command line says "dynkv get \"k\": ..." instead.
func cliMessage(name string, err error) string {
	msg := oneLine(err)
	if rest, ok := strings.CutPrefix(msg, "client: "); ok {
		return "dynkv " + rest
	}
	if strings.HasPrefix(msg, "dynkv ") {
		return msg
	}
	return "dynkv " + name + ": " + msg
}

// usageError is a bad flag value found after parsing: exit status 2.
type usageError struct{ error }

func (c *kvCmd) argCountError(pos []string, nargs [2]int) error {
	if len(pos) > nargs[1] {
		return fmt.Errorf("unexpected argument %q", pos[nargs[1]])
	}
	return fmt.Errorf("missing argument; usage: %s", c.f.usage)
}

func oneLine(err error) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
}

// contextFlag registers --context. No variable sets it: one left exported
// would make every later put overwrite what it never read, a silent lost
// update.
func contextFlag(f *flags, p *string) {
	f.StringVar(p, "context", "", "causal `token` from a previous get or put")
	f.commandLineOnly["context"] = true
}

// quorumFlag registers --r or --w.
func quorumFlag(f *flags, p *string, name, what string) {
	f.StringVar(p, name, "", what+" quorum for this request: a `count` 1..N, one, quorum or all")
	f.defaultText[name] = "the node's --" + name
}

func parseQuorumFlag(name, s string) (sdk.Quorum, error) {
	if s == "" {
		return 0, nil
	}
	q, err := sdk.ParseQuorum(s)
	if err != nil {
		return 0, usageError{fmt.Errorf("--%s %q: want a count 1..N, one, quorum or all", name, s)}
	}
	return q, nil
}

// getJSON is `dynkv get -o json`.
type getJSON struct {
	Key      string        `json:"key"`
	Found    bool          `json:"found"`
	Node     string        `json:"node,omitempty"`
	Context  string        `json:"context"`
	Siblings []sdk.Sibling `json:"siblings"`
}

func runGet(args []string, stdin io.Reader, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	c := newKVCmd("get", "dynkv get [flags] KEY",
		"Read KEY and print every value it holds (several after concurrent writes: siblings),\n"+
			"with the causal context to pass to put or delete --context.\n"+
			"-o text prints the value, or the numbered siblings, then the context;\n"+
			"-o raw prints only the value's bytes (and fails if there are siblings);\n"+
			"-o json prints {key, found, node, context, siblings:[{value (base64), content_type, modified}]}.\n"+
			"A missing or deleted key exits with status 1 (a deleted key's context is still printed).",
		"text", "json", "raw")
	var r, bucket string
	quorumFlag(c.f, &r, "r", "read")
	bucketFlag(c.f, &bucket)
	return c.run(args, stdout, stderr, lookupEnv, [2]int{1, 1}, func(ctx context.Context, cl *sdk.Client, pos []string) error {
		q, err := parseQuorumFlag("r", r)
		if err != nil {
			return err
		}
		key := pos[0]
		res, err := cl.Bucket(bucket).Get(ctx, key, sdk.R(q))
		notFound := errors.Is(err, sdk.ErrNotFound)
		if err != nil && !notFound {
			return err
		}
		switch c.output {
		case "json":
			out := getJSON{Key: key, Found: !notFound, Node: res.Node, Context: res.Context.String(), Siblings: res.Siblings}
			if out.Siblings == nil {
				out.Siblings = []sdk.Sibling{}
			}
			if werr := writeJSON(stdout, out); werr != nil {
				return werr
			}
		case "raw":
			if notFound {
				break
			}
			if res.HasSiblings() {
				return fmt.Errorf("%q has %d siblings: -o raw prints one value; use -o text or -o json", key, len(res.Siblings))
			}
			if _, werr := stdout.Write(res.Siblings[0].Value); werr != nil {
				return werr
			}
		default:
			if !notFound {
				printSiblings(stdout, res)
			}
		}
		if notFound {
			if !res.Context.IsZero() {
				return fmt.Errorf("%w; its context: %s", err, res.Context)
			}
			return err
		}
		return nil
	})
}

// printSiblings renders a read for people: the value alone, or numbered
// siblings with their content types, then the context.
func printSiblings(w io.Writer, res sdk.Result) {
	if len(res.Siblings) == 1 {
		printValue(w, res.Siblings[0].Value)
	} else {
		fmt.Fprintf(w, "%d siblings (values written concurrently); put the resolved value with this --context to replace them:\n", len(res.Siblings))
		for i, s := range res.Siblings {
			ct := s.ContentType
			if ct == "" {
				ct = "no content type"
			}
			fmt.Fprintf(w, "[%d] %s, %d bytes, modified %s%s\n", i+1, ct, len(s.Value), s.Modified.UTC().Format(time.RFC3339Nano), expiresText(s.Expires))
			printValue(w, s.Value)
		}
	}
	fmt.Fprintf(w, "(context %s, served by %s)\n", res.Context, res.Node)
}

// printValue prints text as it is, ending with a newline, and describes
// anything else.
func printValue(w io.Writer, v []byte) {
	if !isText(v) {
		fmt.Fprintf(w, "<%d bytes of binary data: use -o raw or -o json>\n", len(v))
		return
	}
	w.Write(v)
	if len(v) == 0 || v[len(v)-1] != '\n' {
		fmt.Fprintln(w)
	}
}

func isText(v []byte) bool {
	if !utf8.Valid(v) {
		return false
	}
	for _, r := range string(v) {
		if r < ' ' && r != '\n' && r != '\t' && r != '\r' || r == 0x7f {
			return false
		}
	}
	return true
}

func runPut(args []string, stdin io.Reader, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	c := newKVCmd("put", "dynkv put [flags] KEY [VALUE]",
		"Write VALUE under KEY; without VALUE, or with -, the value is read from stdin.\n"+
			"Pass the context of your last read with --context: the write then replaces what\n"+
			"that read returned. Without it the write is concurrent with everything stored and\n"+
			"becomes a sibling of any existing value.\n"+
			"Prints the new version's context (-o json: {key, node, context}).",
		"text", "json")
	var (
		cctx, contentType, w, bucket string
		ttl                          time.Duration
	)
	contextFlag(c.f, &cctx)
	bucketFlag(c.f, &bucket)
	c.f.StringVar(&contentType, "content-type", "", "content `type` stored with the value")
	c.f.defaultText["content-type"] = "application/octet-stream"
	c.f.DurationVar(&ttl, "ttl", 0, "expire the value this `long` after the write, e.g. 30m")
	c.f.defaultText["ttl"] = "the bucket's default TTL (dynkv bucket get), else never"
	quorumFlag(c.f, &w, "w", "write")
	return c.run(args, stdout, stderr, lookupEnv, [2]int{1, 2}, func(ctx context.Context, cl *sdk.Client, pos []string) error {
		q, err := parseQuorumFlag("w", w)
		if err != nil {
			return err
		}
		cc, err := sdk.ParseCausalContext(cctx)
		if err != nil {
			return usageError{fmt.Errorf("--context: %w", err)}
		}
		var value []byte
		if len(pos) == 2 && pos[1] != "-" {
			value = []byte(pos[1])
		} else if value, err = io.ReadAll(stdin); err != nil {
			return fmt.Errorf("read the value from stdin: %w", err)
		}
		var node string
		next, err := cl.Bucket(bucket).Put(ctx, pos[0], value, cc, sdk.W(q), sdk.ContentType(contentType), sdk.TTL(ttl), sdk.ServedBy(&node))
		if err != nil {
			return err
		}
		if c.output == "json" {
			return writeJSON(stdout, map[string]string{"key": pos[0], "node": node, "context": next.String()})
		}
		_, err = fmt.Fprintln(stdout, next)
		return err
	})
}

func runDelete(args []string, stdin io.Reader, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	c := newKVCmd("delete", "dynkv delete [flags] KEY",
		"Delete the versions of KEY that --context saw; a write concurrent with it survives as\n"+
			"a sibling. Without --context, delete first reads KEY and deletes what that read\n"+
			"returned; a key that read finds absent is not an error: delete says nothing was\n"+
			"deleted and exits 0 (like redis-cli DEL and etcdctl del), or 1 with --strict.\n"+
			"Prints what was deleted (-o json: {key, node, deleted, context}).",
		"text", "json")
	var cctx, w, bucket string
	var strict bool
	contextFlag(c.f, &cctx)
	bucketFlag(c.f, &bucket)
	c.f.defaultText["context"] = "read the key first"
	quorumFlag(c.f, &w, "w", "write")
	c.f.BoolVar(&strict, "strict", false, "exit 1 when the key does not exist (without --context)")
	return c.run(args, stdout, stderr, lookupEnv, [2]int{1, 1}, func(ctx context.Context, cl *sdk.Client, pos []string) error {
		q, err := parseQuorumFlag("w", w)
		if err != nil {
			return err
		}
		key, b := pos[0], cl.Bucket(bucket)
		cc, err := sdk.ParseCausalContext(cctx)
		if err != nil {
			return usageError{fmt.Errorf("--context: %w", err)}
		}
		what := "the versions its context saw"
		if cctx == "" {
			res, err := b.Get(ctx, key)
			if errors.Is(err, sdk.ErrNotFound) {
				return deletedNothing(stdout, key, res.Node, c.output, strict)
			}
			if err != nil {
				return err
			}
			cc = res.Context
			what = fmt.Sprintf("the %d version(s) read just now", len(res.Siblings))
		}
		var node string
		if err := b.Delete(ctx, key, cc, sdk.W(q), sdk.ServedBy(&node)); err != nil {
			return err
		}
		if c.output == "json" {
			return writeJSON(stdout, map[string]any{"key": key, "node": node, "deleted": true, "context": cc.String()})
		}
		_, err = fmt.Fprintf(stdout, "deleted %q: %s (served by %s)\n", key, what, node)
		return err
	})
}

// deletedNothing reports a delete of a key that does not exist: success
// unless strict, as deleting what is not there leaves the state asked for.
func deletedNothing(stdout io.Writer, key, node, output string, strict bool) error {
	if strict {
		return fmt.Errorf("%q does not exist, nothing deleted: %w (--strict)", key, sdk.ErrNotFound)
	}
	if output == "json" {
		return writeJSON(stdout, map[string]any{"key": key, "node": node, "deleted": false, "context": ""})
	}
	_, err := fmt.Fprintf(stdout, "deleted nothing: %q does not exist (served by %s)\n", key, node)
	return err
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// expiresText is a sibling's expiry as get prints it, empty for none.
func expiresText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return ", expires " + t.UTC().Format(time.RFC3339Nano)
}
