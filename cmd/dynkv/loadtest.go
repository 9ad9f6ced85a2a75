package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dynkv/dynkv/loadtest"
)

// loadtestCmd holds the flags of `dynkv loadtest`.
type loadtestCmd struct {
	f *flags

	driver        string
	endpoints     []string
	workload      workloadValue
	distribution  string
	zipfian       float64
	keys          int
	keyPrefix     string
	valueSize     int
	concurrency   int
	duration      time.Duration
	ops           int64
	rate          float64
	preload       bool
	verify        bool
	r, w          string
	timeout       time.Duration
	redisPassword string
	progress      time.Duration
	contexts      string
	jsonOut       bool
	seed          uint64
	security      clientSecurity // dynkv drivers only
}

// workloadValue is a --workload flag: A, B, C, F or write, any case.
type workloadValue struct{ w loadtest.Workload }

func (v *workloadValue) String() string { return string(v.w) }
func (v *workloadValue) Set(s string) error {
	w, err := loadtest.ParseWorkload(s)
	if err != nil {
		return errors.New("want A, B, C, F or write")
	}
	v.w = w
	return nil
}

// defaultEndpoint is where a driver finds its store without --endpoints:
// `dynkv dev`'s first node, or a local Redis.
func defaultEndpoint(driver string) string {
	switch driver {
	case "dynkv", "dynkv-sdk":
		return "127.0.0.1:8081"
	case "redis":
		return "127.0.0.1:6379"
	}
	return ""
}

func newLoadtestCmd() *loadtestCmd {
	d := loadtest.DefaultConfig()
	c := &loadtestCmd{
		f: newFlags("dynkv loadtest [flags]",
			"Run a YCSB-style workload against a dynkv cluster (or Redis, for a baseline through the\n"+
				"same generator) and report throughput and latency percentiles per operation.\n"+
				"Workloads: A 50% read/50% update, B 95/5, C read-only, F 50% read/50% read-modify-write,\n"+
				"write 100% update. Updates carry the causal context last seen for the key.\n"+
				"Progress goes to stderr once a second, the report to stdout. Exit status 1 when the\n"+
				"store is unreachable, no operation succeeded, or --verify found a lost write."),
		workload: workloadValue{d.Workload},
	}
	f := c.f
	f.choice(&c.driver, "driver", "dynkv", []string{"dynkv", "dynkv-sdk", "redis"},
		"`store` to drive: dynkv (its HTTP API, lean fasthttp client), dynkv-sdk (through the Go SDK, as an application would) or redis (RESP)")
	f.list(&c.endpoints, "endpoints", "`addresses` host:port[,host:port]: dynkv nodes' HTTP addresses or Redis servers; clients are spread over them")
	f.defaultText["endpoints"] = "127.0.0.1:8081 (dynkv), 127.0.0.1:6379 (redis)"
	f.Var(&c.workload, "workload", "operation `mix`: A, B, C, F or write")
	f.choice(&c.distribution, "distribution", string(d.Distribution), []string{"zipfian", "uniform"}, "key `distribution`: zipfian (YCSB's scrambled zipfian) or uniform")
	f.Float64Var(&c.zipfian, "zipfian-constant", d.ZipfianConstant, "θ of the zipfian distribution, a `number` in (0, 1)")
	f.IntVar(&c.keys, "keys", d.Keys, "`count` of distinct keys")
	f.StringVar(&c.keyPrefix, "key-prefix", d.KeyPrefix, "`prefix` of every key (prefix0, prefix1, ...); give each verified run its own")
	f.bytes(&c.valueSize, "value-size", d.ValueSize, "`size` of every written value, such as 100, 1KiB or 1MiB")
	f.IntVar(&c.concurrency, "concurrency", d.Concurrency, "`count` of concurrent clients, each with one connection and one request in flight")
	f.DurationVar(&c.duration, "duration", d.Duration, "length of the timed phase, a `duration`; 0 with --ops 0 runs only the preload")
	f.Int64Var(&c.ops, "ops", 0, "stop the timed phase after this `count` of operations (0: no limit)")
	f.Float64Var(&c.rate, "rate", 0, "target throughput in `ops/s` over all clients (0: as fast as possible); latency then counts from each operation's scheduled start")
	f.BoolVar(&c.preload, "preload", false, "write every key once (without a context) before the timed phase; use on an empty key space")
	f.BoolVar(&c.verify, "verify", false, "record every acknowledged write and check at the end that the store still holds it (or a write that saw it); keeps a few tens of bytes per write in memory")
	f.StringVar(&c.r, "r", "", "read `quorum` per request (dynkv): 1..N, one, quorum or all")
	f.defaultText["r"] = "the node's"
	f.StringVar(&c.w, "w", "", "write `quorum` per request (dynkv): 1..N, one, quorum or all")
	f.defaultText["w"] = "the node's"
	f.DurationVar(&c.timeout, "timeout", 10*time.Second, "bound on each request, a `duration`")
	f.StringVar(&c.redisPassword, "redis-password", "", "`password` sent with AUTH to Redis")
	f.DurationVar(&c.progress, "progress-interval", time.Second, "`interval` between progress lines on stderr; 0 prints none")
	f.StringVar(&c.contexts, "contexts", "", "`file` keeping the causal context last seen for each key between runs: read at the start when it exists, written at the end, so consecutive runs act as one long-lived client instead of reading each key before its first update")
	f.BoolVar(&c.jsonOut, "json", false, "print the report as JSON")
	f.Uint64Var(&c.seed, "seed", 0, "`seed` of the key choices, for a reproducible run; 0 picks one")
	f.defaultText["seed"] = "random"
	// Redis ignores them, so an exported DYNKV_TOKEN does not stop a
	// baseline run.
	c.security.register(f)
	return c
}

// plan turns the flags into a configuration and a driver.
func (c *loadtestCmd) plan(args []string, lookupEnv func(string) (string, bool), stderr io.Writer) (loadtest.Config, loadtest.Driver, error) {
	if err := c.f.parse(args, lookupEnv); err != nil {
		return loadtest.Config{}, nil, err
	}
	cfg := loadtest.DefaultConfig()
	cfg.Workload, cfg.Distribution, cfg.ZipfianConstant = c.workload.w, loadtest.Distribution(c.distribution), c.zipfian
	cfg.Keys, cfg.KeyPrefix, cfg.ValueSize = c.keys, c.keyPrefix, c.valueSize
	cfg.Concurrency, cfg.Duration, cfg.Ops, cfg.Rate = c.concurrency, c.duration, c.ops, c.rate
	cfg.Preload, cfg.Verify, cfg.Seed = c.preload, c.verify, c.seed
	if c.progress > 0 {
		cfg.Progress, cfg.ProgressInterval = stderr, c.progress
	}
	if err := cfg.Validate(); err != nil {
		return cfg, nil, errors.New(strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	if c.timeout <= 0 {
		return cfg, nil, errors.New("--timeout must be positive")
	}
	endpoints := c.endpoints
	if len(endpoints) == 0 {
		endpoints = []string{defaultEndpoint(c.driver)}
	}
	var d loadtest.Driver
	var err error
	switch c.driver {
	case "dynkv", "dynkv-sdk":
		if c.redisPassword != "" {
			return cfg, nil, errors.New("--redis-password is for --driver redis")
		}
		var tlsConfig *tls.Config
		if tlsConfig, err = c.security.load(); err != nil {
			return cfg, nil, err
		}
		opts := loadtest.DynkvOptions{Endpoints: endpoints, R: c.r, W: c.w, Timeout: c.timeout, TLS: tlsConfig, Token: c.security.token}
		if c.driver == "dynkv" {
			d, err = loadtest.NewDynkv(opts)
		} else {
			d, err = loadtest.NewDynkvSDK(opts)
		}
	case "redis":
		if c.r != "" || c.w != "" {
			return cfg, nil, errors.New("--r and --w are for --driver dynkv: Redis has no quorums")
		}
		d, err = loadtest.NewRedis(loadtest.RedisOptions{Addrs: endpoints, Password: c.redisPassword, Timeout: c.timeout})
	}
	return cfg, d, err
}

// runLoadtest is `dynkv loadtest`.
func runLoadtest(args []string, stdin io.Reader, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	cmd := newLoadtestCmd()
	cfg, d, err := cmd.plan(args, lookupEnv, stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		cmd.f.printUsage(stdout)
		return 0
	case err != nil:
		fmt.Fprintf(stderr, "dynkv loadtest: %v (see dynkv loadtest --help)\n", err)
		return 2
	}
	defer d.Close()
	g, err := loadtest.New(cfg, d)
	if err != nil { // checked in plan
		fmt.Fprintf(stderr, "dynkv loadtest: %v\n", err)
		return 2
	}
	if cmd.contexts != "" {
		if err := loadContexts(g, cmd.contexts); err != nil {
			fmt.Fprintf(stderr, "dynkv loadtest: --contexts %s: %v\n", cmd.contexts, err)
			return 1
		}
	}

	runCtx, checkCtx, stop := signalContexts()
	defer stop()
	rep, err := g.Run(runCtx)
	if err != nil {
		fmt.Fprintf(stderr, "dynkv loadtest: %v\n", err)
		return 1
	}
	code := 0
	if cfg.Verify && !verifyRun(checkCtx, g, rep, cfg.Progress != nil, stderr) {
		code = 1
	}
	if cmd.contexts != "" {
		if err := saveContexts(g, cmd.contexts); err != nil {
			fmt.Fprintf(stderr, "dynkv loadtest: --contexts %s: %v\n", cmd.contexts, err)
			code = 1
		}
	}
	if nothingSucceeded(rep) {
		code = 1 // almost certainly a misconfiguration
	}
	if cmd.jsonOut {
		err = rep.WriteJSON(stdout)
	} else {
		err = rep.WriteText(stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "dynkv loadtest: %v\n", err)
		return 1
	}
	return code
}

// signalContexts returns the contexts of the run and of its check: the
// first SIGINT or SIGTERM ends the run (the report covers what ran and
// --verify still checks it), the second abandons the check too. stop
// releases both and the signals.
func signalContexts() (runCtx, checkCtx context.Context, stop func()) {
	sigs, stopSignals := notifyShutdown()
	runCtx, stopRun := context.WithCancel(context.Background())
	checkCtx, stopCheck := context.WithCancel(context.Background())
	go func() {
		for _, stop := range []context.CancelFunc{stopRun, stopCheck} {
			select {
			case <-sigs:
				stop()
			case <-checkCtx.Done():
				return
			}
		}
	}()
	return runCtx, checkCtx, func() {
		stopCheck()
		stopRun()
		stopSignals()
	}
}

// verifyRun checks every acknowledged write of the run into rep.Verify and
// reports whether the check completed and passed; a check that could not
// run at all says why on stderr.
func verifyRun(ctx context.Context, g *loadtest.Generator, rep *loadtest.Report, progress bool, stderr io.Writer) bool {
	if progress {
		fmt.Fprintln(stderr, "verifying every acknowledged write...")
	}
	var err error
	rep.Verify, err = g.Verify(ctx)
	switch {
	case rep.Verify == nil:
		fmt.Fprintf(stderr, "dynkv loadtest: verify: %v\n", err)
		return false
	case err != nil || !rep.Verify.Passed:
		return false
	}
	return true
}

// nothingSucceeded reports a run in which every timed operation failed, or
// a preload that wrote nothing.
func nothingSucceeded(rep *loadtest.Report) bool {
	return rep.Run != nil && rep.Run.Ops == 0 && rep.Run.Errors > 0 || rep.Preload != nil && rep.Preload.Ops == 0
}

// loadContexts reads the contexts file when it exists.
func loadContexts(g *loadtest.Generator, path string) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = g.LoadContexts(f)
	return err
}

// saveContexts replaces the contexts file atomically.
func saveContexts(g *loadtest.Generator, path string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := g.SaveContexts(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
