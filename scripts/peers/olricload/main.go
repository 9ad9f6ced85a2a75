// Command olricload runs dynkv's load generator (package loadtest)
// against an Olric cluster, with the flags and the report of
// `dynkv loadtest`, so that scripts/bench.sh measures Olric through the
// same generator as dynkv and Redis. It lives in its own module
// (scripts/peers) to keep Olric out of dynkv's go.mod.
//
//	olricload --endpoints 127.0.0.1:17081 --workload A --duration 15s --json
//	olricload --endpoints 127.0.0.1:17081 --wait-members 3 --replicas 3
//
// The second form waits until the cluster has that many members and every
// partition its full set of owners, then exits: scripts/bench.sh runs it
// before the preload.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/dynkv/dynkv/loadtest"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// options are the command's flags beyond the loadtest configuration.
type options struct {
	endpoints   string
	dmap        string
	timeout     time.Duration
	jsonOut     bool
	waitMembers int
	replicas    int
	waitFor     time.Duration
}

// parse reads args into a loadtest configuration, with the flag names and
// defaults of `dynkv loadtest` (cmd/dynkv/loadtest.go).
func parse(args []string, stderr io.Writer) (loadtest.Config, options, error) {
	d := loadtest.DefaultConfig()
	cfg, o := d, options{}
	fs := flag.NewFlagSet("olricload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	workload, distribution := string(d.Workload), string(d.Distribution)
	valueSize := byteSize(d.ValueSize)
	progress := time.Second
	fs.StringVar(&o.endpoints, "endpoints", "127.0.0.1:3320", "Olric members host:port[,host:port]; the client discovers the rest")
	fs.StringVar(&o.dmap, "dmap", "bench", "name of the DMap")
	fs.StringVar(&workload, "workload", workload, "operation mix: A, B, C, F or write")
	fs.StringVar(&distribution, "distribution", distribution, "key distribution: zipfian or uniform")
	fs.Float64Var(&cfg.ZipfianConstant, "zipfian-constant", d.ZipfianConstant, "θ of the zipfian distribution")
	fs.IntVar(&cfg.Keys, "keys", d.Keys, "count of distinct keys")
	fs.StringVar(&cfg.KeyPrefix, "key-prefix", d.KeyPrefix, "prefix of every key")
	fs.Var(&valueSize, "value-size", "size of every written value, such as 100, 1KiB or 1MiB")
	fs.IntVar(&cfg.Concurrency, "concurrency", d.Concurrency, "count of concurrent clients")
	fs.DurationVar(&cfg.Duration, "duration", d.Duration, "length of the timed phase; 0 with --ops 0 runs only the preload")
	fs.Int64Var(&cfg.Ops, "ops", 0, "stop the timed phase after this count of operations (0: no limit)")
	fs.Float64Var(&cfg.Rate, "rate", 0, "target throughput in ops/s over all clients (0: as fast as possible)")
	fs.BoolVar(&cfg.Preload, "preload", false, "write every key once before the timed phase")
	fs.Uint64Var(&cfg.Seed, "seed", 0, "seed of the key choices; 0 picks one")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "bound on each request")
	fs.DurationVar(&progress, "progress-interval", progress, "interval between progress lines on stderr; 0 prints none")
	fs.BoolVar(&o.jsonOut, "json", false, "print the report as JSON")
	fs.IntVar(&o.waitMembers, "wait-members", 0, "only wait until the cluster has this many members and every partition --replicas owners, then exit")
	fs.IntVar(&o.replicas, "replicas", 3, "owners per partition that --wait-members waits for (Olric's replicaCount)")
	fs.DurationVar(&o.waitFor, "wait-timeout", time.Minute, "how long --wait-members waits")
	if err := fs.Parse(args); err != nil {
		return cfg, o, err
	}
	if fs.NArg() > 0 {
		return cfg, o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var err error
	if cfg.Workload, err = loadtest.ParseWorkload(workload); err != nil {
		return cfg, o, err
	}
	cfg.Distribution, cfg.ValueSize = loadtest.Distribution(distribution), int(valueSize)
	if progress > 0 {
		cfg.Progress, cfg.ProgressInterval = stderr, progress
	}
	if o.timeout <= 0 {
		return cfg, o, errors.New("--timeout must be positive")
	}
	if o.waitMembers > 0 {
		return cfg, o, nil
	}
	if err := cfg.Validate(); err != nil {
		return cfg, o, errors.New(strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	return cfg, o, nil
}

func run(args []string, stdout, stderr io.Writer) int {
	cfg, o, err := parse(args, stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case err != nil:
		fmt.Fprintf(stderr, "olricload: %v\n", err)
		return 2
	}
	endpoints := strings.Split(o.endpoints, ",")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if o.waitMembers > 0 {
		if err := waitSettled(ctx, endpoints, o); err != nil {
			fmt.Fprintf(stderr, "olricload: %v\n", err)
			return 1
		}
		return 0
	}
	d, err := newOlricDriver(endpoints, o.dmap, cfg.Concurrency, o.timeout)
	if err != nil {
		fmt.Fprintf(stderr, "olricload: %v\n", err)
		return 1
	}
	defer d.Close()
	rep, err := runGenerator(ctx, cfg, d)
	if err != nil {
		fmt.Fprintf(stderr, "olricload: %v\n", err)
		return 1
	}
	code := 0
	// As `dynkv loadtest`: a run where nothing succeeded is almost
	// certainly a misconfiguration.
	if rep.Run != nil && rep.Run.Ops == 0 && rep.Run.Errors > 0 || rep.Preload != nil && rep.Preload.Ops == 0 {
		code = 1
	}
	if o.jsonOut {
		err = rep.WriteJSON(stdout)
	} else {
		err = rep.WriteText(stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "olricload: writing the report: %v\n", err)
		return 1
	}
	return code
}

func runGenerator(ctx context.Context, cfg loadtest.Config, d loadtest.Driver) (*loadtest.Report, error) {
	g, err := loadtest.New(cfg, d)
	if err != nil {
		return nil, fmt.Errorf("configuring the generator: %w", err)
	}
	rep, err := g.Run(ctx)
	if err != nil {
		return nil, fmt.Errorf("running %s: %w", cfg.Workload, err)
	}
	return rep, nil
}

// waitSettled polls until the cluster has o.waitMembers members and a
// settled routing table. A member that has just started may not answer
// yet, and one that joined may not have its partitions yet: both are
// retried until o.waitFor has passed.
func waitSettled(ctx context.Context, endpoints []string, o options) error {
	ctx, cancel := context.WithTimeout(ctx, o.waitFor)
	defer cancel()
	var last error
	for {
		last = checkSettled(ctx, endpoints, o)
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("olric cluster not settled after %v: %w", o.waitFor, last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func checkSettled(ctx context.Context, endpoints []string, o options) error {
	d, err := newOlricDriver(endpoints, o.dmap, 1, o.timeout)
	if err != nil {
		return err
	}
	defer d.Close()
	names, err := d.members(ctx)
	if err != nil {
		return fmt.Errorf("listing members: %w", err)
	}
	if len(names) != o.waitMembers {
		return fmt.Errorf("%d members %v, want %d", len(names), names, o.waitMembers)
	}
	ok, err := d.settled(ctx, o.replicas)
	if err != nil {
		return fmt.Errorf("reading the routing table: %w", err)
	}
	if !ok {
		return fmt.Errorf("partitions still without %d owners", o.replicas)
	}
	return nil
}

// byteSize is a --value-size flag: a count of bytes with an optional
// B, KiB, MiB or GiB suffix, as `dynkv loadtest` takes it.
type byteSize int

func (b *byteSize) String() string { return strconv.Itoa(int(*b)) }

func (b *byteSize) Set(s string) error {
	num, mult := s, 1
	for _, u := range []struct {
		suffix string
		size   int
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}} {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			num, mult = n, u.size
			break
		}
	}
	n, err := strconv.Atoi(strings.TrimSpace(num))
	if err != nil || n < 1 || n > (1<<31-1)/mult {
		return errors.New("want a positive size such as 1048576, 512KiB or 1MiB")
	}
	*b = byteSize(n * mult)
	return nil
}
