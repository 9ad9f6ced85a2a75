//go:build chaos

package chaos

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dynkv/dynkv/loadtest"
)

// The load of every scenario: workload A (half reads, half updates with
// the context last seen) over zipfian keys, through the Go SDK, paced.
const (
	loadKeys        = 2000
	loadRate        = 200 // ops/s
	loadConcurrency = 8
	loadValueSize   = 256
)

// load is one run of the verifying load generator: `dynkv loadtest
// --driver dynkv-sdk --verify`, in this process so that the check of
// acknowledged writes can wait until the replicas have converged.
type load struct {
	name   string
	prefix string
	g      *loadtest.Generator
	d      loadtest.Driver

	stop   context.CancelFunc
	done   chan struct{}
	report *loadtest.Report
	err    error

	errMu    sync.Mutex
	examples map[string]string // error kind -> first message
}

// startLoad preloads the scenario's keys and starts the timed phase at rate
// operations a second, which runs until stopLoad.
func startLoad(t *testing.T, c *cluster, name, prefix string, endpoints []string, rate float64) *load {
	t.Helper()
	sdk, err := loadtest.NewDynkvSDK(loadtest.DynkvOptions{Endpoints: endpoints, Timeout: 10 * time.Second, TLS: c.clientTLS, Token: c.token})
	if err != nil {
		t.Fatal(err)
	}
	l := &load{name: name, prefix: prefix, done: make(chan struct{}), examples: map[string]string{}}
	l.d = &patientDriver{Driver: sdk, l: l}
	cfg := loadtest.DefaultConfig()
	cfg.Workload = loadtest.WorkloadA
	cfg.Keys = loadKeys
	cfg.KeyPrefix = prefix
	cfg.ValueSize = loadValueSize
	cfg.Concurrency = loadConcurrency
	cfg.Rate = rate
	cfg.Duration = 15 * time.Minute // until stopLoad
	cfg.Preload = true
	cfg.Verify = true
	cfg.Progress = &lineLogger{prefix: "    " + name + ": "}
	cfg.ProgressInterval = 5 * time.Second
	l.g, err = loadtest.New(cfg, l.d)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	l.stop = cancel
	go func() {
		defer close(l.done)
		l.report, l.err = l.g.Run(ctx)
	}()
	return l
}

// stopLoad ends the timed phase: no new operation starts, and those in
// flight finish (the patient driver does not cancel them).
func (l *load) stopLoad() (*loadtest.Report, error) {
	l.stop()
	<-l.done
	if l.err == nil && (l.report == nil || l.report.Run == nil) {
		l.err = fmt.Errorf("%s: the load ended before its timed phase", l.name)
	}
	return l.report, l.err
}

// verify checks every write the run acknowledged.
func (l *load) verify(ctx context.Context) (*loadtest.VerifyReport, error) {
	return l.g.Verify(ctx)
}

// keys lists the scenario's keys.
func (l *load) keys() []string {
	keys := make([]string, loadKeys)
	for i := range keys {
		keys[i] = fmt.Sprintf("%s%d", l.prefix, i)
	}
	return keys
}

func (l *load) noteError(err error) {
	kind := loadtest.ErrorKind(err)
	l.errMu.Lock()
	defer l.errMu.Unlock()
	if _, ok := l.examples[kind]; !ok {
		l.examples[kind] = err.Error()
	}
}

func (l *load) errorExamples() string {
	l.errMu.Lock()
	defer l.errMu.Unlock()
	var b strings.Builder
	for k, v := range l.examples {
		fmt.Fprintf(&b, "\n    %s: %s", k, v)
	}
	return b.String()
}

// patientDriver lets operations in flight finish when the run is stopped:
// the generator stops starting operations when its context ends, but would
// also cancel those in flight, which would count as failed requests.
type patientDriver struct {
	loadtest.Driver
	l *load
}

func (d *patientDriver) NewClient(i int) (loadtest.Client, error) {
	c, err := d.Driver.NewClient(i)
	if err != nil {
		return nil, err
	}
	return &patientClient{c: c, l: d.l}, nil
}

type patientClient struct {
	c loadtest.Client
	l *load
}

// requestTimeout bounds one operation including the SDK's failover.
const requestTimeout = 30 * time.Second

func (c *patientClient) Read(ctx context.Context, key []byte, res *loadtest.ReadResult) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), requestTimeout)
	defer cancel()
	err := c.c.Read(ctx, key, res)
	if err != nil {
		c.l.noteError(err)
	}
	return err
}

func (c *patientClient) Write(ctx context.Context, key, value, token []byte, res *loadtest.WriteResult) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), requestTimeout)
	defer cancel()
	err := c.c.Write(ctx, key, value, token, res)
	if err != nil {
		c.l.noteError(err)
	}
	return err
}

func (c *patientClient) Close() error { return c.c.Close() }

// lineLogger prefixes the generator's progress lines and writes them to
// stdout: not to the test log, since a later verification of the run may
// print progress after the scenario's subtest has ended.
type lineLogger struct {
	prefix string
	mu     sync.Mutex
	buf    []byte
}

var _ io.Writer = (*lineLogger)(nil)

func (w *lineLogger) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := strings.IndexByte(string(w.buf), '\n')
		if i < 0 {
			break
		}
		fmt.Fprintf(os.Stdout, "%s%s\n", w.prefix, w.buf[:i])
		w.buf = w.buf[i+1:]
	}
	return len(p), nil
}
