package main

import (
	"bytes"
	"errors"
	"flag"
	"slices"
	"strings"
	"testing"
	"time"
)

func envMap(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

type testFlags struct {
	f       *flags
	count   int
	name    string
	timeout time.Duration
	sync    bool
	level   string
	size    int
	join    []string
}

func newTestFlags() *testFlags {
	t := &testFlags{f: newFlags("test [flags]", "A test command.")}
	t.f.IntVar(&t.count, "count", 3, "a `count`")
	t.f.StringVar(&t.name, "node-id", "dflt", "a `name`")
	t.f.DurationVar(&t.timeout, "request-timeout", 5*time.Second, "a `duration`")
	t.f.BoolVar(&t.sync, "sync-writes", false, "a switch")
	t.f.choice(&t.level, "log-level", "info", []string{"debug", "info"}, "a `level`")
	t.f.bytes(&t.size, "max-value-bytes", 1<<20, "a `size`")
	t.f.list(&t.join, "join", "`addresses`")
	return t
}

func TestEnvName(t *testing.T) {
	for flagName, want := range map[string]string{
		"node-id": "DYNKV_NODE_ID", "n": "DYNKV_N", "advertise-http-addr": "DYNKV_ADVERTISE_HTTP_ADDR",
	} {
		if got := envName(flagName); got != want {
			t.Errorf("envName(%q) = %q, want %q", flagName, got, want)
		}
	}
}

func TestFlagPrecedence(t *testing.T) {
	env := map[string]string{"DYNKV_COUNT": "5", "DYNKV_NODE_ID": "from-env", "DYNKV_SYNC_WRITES": "true", "DYNKV_JOIN": "a:1,b:2"}
	for _, tc := range []struct {
		name      string
		args      []string
		env       map[string]string
		wantCount int
		wantName  string
		wantSync  bool
		wantJoin  []string
	}{
		{"defaults", nil, nil, 3, "dflt", false, nil},
		{"env beats default", nil, env, 5, "from-env", true, []string{"a:1", "b:2"}},
		{"flag beats env", []string{"--count", "7", "--node-id=flag", "--sync-writes=false", "--join", "c:3", "--join", "d:4"}, env, 7, "flag", false, []string{"c:3", "d:4"}},
		{"flag beats default", []string{"-count=9"}, nil, 9, "dflt", false, nil},
		{"empty env is unset", nil, map[string]string{"DYNKV_COUNT": "", "DYNKV_NODE_ID": ""}, 3, "dflt", false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newTestFlags()
			if err := f.f.parse(tc.args, envMap(tc.env)); err != nil {
				t.Fatalf("parse: %v", err)
			}
			if f.count != tc.wantCount || f.name != tc.wantName || f.sync != tc.wantSync || !slices.Equal(f.join, tc.wantJoin) {
				t.Errorf("got count=%d name=%q sync=%v join=%q, want %d %q %v %q",
					f.count, f.name, f.sync, f.join, tc.wantCount, tc.wantName, tc.wantSync, tc.wantJoin)
			}
		})
	}
}

func TestFlagIsSet(t *testing.T) {
	f := newTestFlags()
	if err := f.f.parse([]string{"--count", "1"}, envMap(map[string]string{"DYNKV_NODE_ID": "x"})); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{"count": true, "node-id": true, "log-level": false} {
		if got := f.f.isSet(name); got != want {
			t.Errorf("isSet(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestFlagBadValues(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string // substring
	}{
		{"bad int flag", []string{"--count", "three"}, nil, `invalid value "three" for flag --count`},
		{"bad int env", nil, map[string]string{"DYNKV_COUNT": "three"}, `invalid value "three" for DYNKV_COUNT (--count)`},
		{"bad duration env", nil, map[string]string{"DYNKV_REQUEST_TIMEOUT": "5"}, "DYNKV_REQUEST_TIMEOUT"},
		{"bad bool env", nil, map[string]string{"DYNKV_SYNC_WRITES": "maybe"}, "DYNKV_SYNC_WRITES"},
		{"bad choice flag", []string{"--log-level", "loud"}, nil, "want one of debug, info"},
		{"bad choice env", nil, map[string]string{"DYNKV_LOG_LEVEL": "loud"}, "want one of debug, info"},
		{"bad size", []string{"--max-value-bytes", "1TB"}, nil, "want a positive size"},
		{"zero size", []string{"--max-value-bytes", "0"}, nil, "want a positive size"},
		{"unknown flag", []string{"--nope"}, nil, "not defined: --nope"},
		{"stray argument", []string{"--count", "1", "extra"}, nil, `unexpected argument "extra"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := newTestFlags().f.parse(tc.args, envMap(tc.env))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("parse error = %v, want it to contain %q", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans several lines: %q", err)
			}
		})
	}
	// A bad environment value under a flag given on the command line is
	// never consulted.
	if err := newTestFlags().f.parse([]string{"--count", "1"}, envMap(map[string]string{"DYNKV_COUNT": "x"})); err != nil {
		t.Errorf("shadowed bad env value: %v", err)
	}
}

func TestBytesValue(t *testing.T) {
	for in, want := range map[string]int{"1": 1, "1048576": 1 << 20, "512KiB": 512 << 10, "1MiB": 1 << 20, "2GiB": 0, "1GiB": 1 << 30, "10B": 10} {
		var n int
		err := bytesValue{&n}.Set(in)
		if want == 0 {
			if err == nil {
				t.Errorf("Set(%q) = %d, want an error", in, n)
			}
			continue
		}
		if err != nil || n != want {
			t.Errorf("Set(%q) = %d, %v; want %d", in, n, err, want)
		}
	}
	for n, want := range map[int]string{1 << 20: "1MiB", 1536: "1536B", 3 << 10: "3KiB"} {
		if got := (bytesValue{&n}).String(); got != want {
			t.Errorf("String(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestHelpListsEveryFlag(t *testing.T) {
	for _, f := range []*flags{newServeCmd().f, newDevCmd().f} {
		err := f.parse([]string{"--help"}, envMap(nil))
		if !errors.Is(err, flag.ErrHelp) {
			t.Fatalf("--help: %v, want flag.ErrHelp", err)
		}
		var buf bytes.Buffer
		f.printUsage(&buf)
		f.VisitAll(func(fl *flag.Flag) {
			if !strings.Contains(buf.String(), "--"+fl.Name) || !strings.Contains(buf.String(), "env "+f.env(fl.Name)+", default ") {
				t.Errorf("%s help lacks --%s with its env var and default:\n%s", f.usage, fl.Name, buf.String())
			}
		})
	}
}

func TestServeConfig(t *testing.T) {
	cfg, err := newServeCmd().config([]string{"--node-id", "a1", "--n", "5", "--w", "3", "--join", "10.0.0.1:7946,10.0.0.2:7946"},
		envMap(map[string]string{"DYNKV_HTTP_ADDR": "127.0.0.1:9000", "DYNKV_N": "1"}))
	if err != nil {
		t.Fatal(err)
	}
	n, s := cfg.node, cfg.serf
	if n.NodeID != "a1" || n.DataDir != "data/a1" || n.HTTPAddr != "127.0.0.1:9000" || n.Ring.N != 5 || n.W != 3 || n.R != 2 ||
		n.Ring.Partitions != 256 || n.MaxValueBytes != 1<<20 || n.MaxSiblings != 100 || n.RequestTimeout != 5*time.Second {
		t.Errorf("node config = %+v", n)
	}
	if s.NodeID != "a1" || s.HTTPAddr != "127.0.0.1:9000" || s.BindAddr != "127.0.0.1:7946" || s.Profile != "lan" ||
		!slices.Equal(s.Join, []string{"10.0.0.1:7946", "10.0.0.2:7946"}) {
		t.Errorf("serf config = %+v", s)
	}

	for _, tc := range []struct {
		args    []string
		wantErr string
	}{
		{[]string{"--http-addr", "0.0.0.0:8080"}, "set --advertise-http-addr"},
		{[]string{"--http-addr", ":8080"}, "set --advertise-http-addr"},
		{[]string{"--http-addr", "127.0.0.1:0"}, "concrete port"},
		{[]string{"--http-addr", "0.0.0.0:8080", "--advertise-http-addr", "10.0.0.1:8080", "--insecure"}, ""},
		{[]string{"--http-addr", "0.0.0.0:8080", "--advertise-http-addr", "10.0.0.1:8080"}, "refusing to listen on 0.0.0.0:8080 without security"},
		{[]string{"--gossip-addr", "10.0.0.1:7946"}, "refusing to listen on 10.0.0.1:7946 without security"},
		{[]string{"--certs-dir", "/nonexistent"}, "--certs-dir"},
		{[]string{"--tls-cert", "x.crt"}, "--tls-cert and --tls-key go together"},
		{[]string{"--join", "nohost"}, "--join"},
		{[]string{"--r", "4"}, "r=4"},
		{[]string{"--request-timeout", "-1s"}, "--request-timeout"},
		{[]string{"--node-id", "bad id"}, "node id"},
		{[]string{"--gossip-profile", "wan"}, "want one of lan, local, fast"},
	} {
		_, err := newServeCmd().config(append([]string{"--node-id", "a1"}, tc.args...), envMap(nil))
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%q: %v", tc.args, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%q: error %v, want it to contain %q", tc.args, err, tc.wantErr)
		case err != nil && strings.Contains(err.Error(), "\n"):
			t.Errorf("%q: error spans several lines: %q", tc.args, err)
		}
	}
}

func TestDevPlan(t *testing.T) {
	for _, tc := range []struct {
		args          []string
		wantN, wantRW int
		wantErr       string
	}{
		{nil, 3, 2, ""},
		{[]string{"--nodes", "1"}, 1, 1, ""},
		{[]string{"--nodes", "2"}, 2, 2, ""},
		{[]string{"--nodes", "5", "--n", "5"}, 5, 2, ""},
		{[]string{"--nodes", "1", "--w", "2"}, 0, 0, "--w 2 needs at least 2 nodes"},
		{[]string{"--nodes", "0"}, 0, 0, "--nodes 0"},
		{[]string{"--base-port", "65000"}, 0, 0, "--base-port 65000"},
	} {
		p, err := newDevCmd().plan(tc.args, envMap(nil))
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%q: error %v, want it to contain %q", tc.args, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.args, err)
			continue
		}
		if p.node.Ring.N != tc.wantN || p.node.R != tc.wantRW || p.node.W != tc.wantRW {
			t.Errorf("%q: N=%d R=%d W=%d, want N=%d R=W=%d", tc.args, p.node.Ring.N, p.node.R, p.node.W, tc.wantN, tc.wantRW)
		}
	}
}

func TestRunDispatch(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		wantCode int
		wantOut  string
	}{
		{nil, 2, "Commands:"},
		{[]string{"help"}, 0, "Commands:"},
		{[]string{"help", "serve"}, 0, "DYNKV_NODE_ID"},
		{[]string{"dev", "--help"}, 0, "DYNKV_DEV_BASE_PORT"},
		{[]string{"version"}, 0, "dynkv "},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"serve", "--n", "x"}, 2, "--n"},
	} {
		var out bytes.Buffer
		code := run(tc.args, strings.NewReader(""), &out, &out, envMap(nil))
		if code != tc.wantCode || !strings.Contains(out.String(), tc.wantOut) {
			t.Errorf("run(%q) = %d, output %q; want %d and %q", tc.args, code, out.String(), tc.wantCode, tc.wantOut)
		}
	}
}
