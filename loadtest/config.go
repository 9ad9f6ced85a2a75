package loadtest

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Workload names an operation mix.
type Workload string

// The workloads of the load generator (README, "Measure it"), after
// YCSB's core workloads.
const (
	WorkloadA     Workload = "A"     // 50 % read, 50 % update
	WorkloadB     Workload = "B"     // 95 % read, 5 % update
	WorkloadC     Workload = "C"     // 100 % read
	WorkloadF     Workload = "F"     // 50 % read, 50 % read-modify-write
	WorkloadWrite Workload = "write" // 100 % update
)

// Workloads lists every workload, for help texts. The slice is new at each
// call, the caller's to keep or change.
func Workloads() []Workload {
	return []Workload{WorkloadA, WorkloadB, WorkloadC, WorkloadF, WorkloadWrite}
}

// ParseWorkload reads a workload name, case-insensitively; "write-only" is
// accepted for "write".
func ParseWorkload(s string) (Workload, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "a":
		return WorkloadA, nil
	case "b":
		return WorkloadB, nil
	case "c":
		return WorkloadC, nil
	case "f":
		return WorkloadF, nil
	case "write", "write-only", "writeonly":
		return WorkloadWrite, nil
	}
	return "", fmt.Errorf("unknown workload %q: want A, B, C, F or write", s)
}

// mix is a workload's share of each operation, in per mille: a read when
// the draw is below read, an update below read+update, else an rmw.
type mix struct{ read, update int }

func (w Workload) mix() mix {
	switch w {
	case WorkloadA:
		return mix{read: 500, update: 500}
	case WorkloadB:
		return mix{read: 950, update: 50}
	case WorkloadC:
		return mix{read: 1000}
	case WorkloadF:
		return mix{read: 500}
	default: // write
		return mix{update: 1000}
	}
}

// Distribution names how keys are chosen.
type Distribution string

// Key distributions.
const (
	Uniform Distribution = "uniform"
	Zipfian Distribution = "zipfian" // YCSB's scrambled zipfian
)

// DefaultZipfianConstant is YCSB's θ: the key of popularity rank i is
// chosen with a probability proportional to 1/i^θ.
const DefaultZipfianConstant = 0.99

// Config is one load-generator run. The zero value is not usable; start
// from DefaultConfig.
type Config struct {
	Workload     Workload
	Distribution Distribution
	// ZipfianConstant is θ of the zipfian distribution, in (0, 1).
	ZipfianConstant float64
	// Keys is the size of the key space: keys KeyPrefix0 ..
	// KeyPrefix<Keys-1>.
	Keys int
	// KeyPrefix starts every key. Give a verified run its own prefix: the
	// verifier assumes it is the keys' only writer.
	KeyPrefix string
	// ValueSize is the length of every written value in bytes (at least 16
	// with Verify, which stores a write id in the first 16).
	ValueSize int
	// Concurrency is the number of clients, each one goroutine with one
	// connection and at most one request in flight.
	Concurrency int
	// Duration bounds the timed phase; Ops bounds its operation count. With
	// both, whichever comes first; with neither, only the preload runs.
	Duration time.Duration
	Ops      int64
	// Rate is the target throughput of the timed phase in operations per
	// second over all clients; 0 runs as fast as the clients can. With a
	// rate, latency is measured from each operation's scheduled start.
	Rate float64
	// Preload writes every key once (blind: without a context) before the
	// timed phase. Run it on an empty key space.
	Preload bool
	// Verify records every write and lets Generator.Verify check that no
	// acknowledged write was lost.
	Verify bool
	// Progress receives one line per ProgressInterval while a phase runs;
	// nil prints nothing.
	Progress         io.Writer
	ProgressInterval time.Duration
	// Seed makes key choices reproducible; 0 picks one at random.
	Seed uint64
}

// DefaultConfig is workload A over 100,000 zipfian keys with 1 KiB values,
// 64 clients, for 30 s, with progress every second (to nowhere until
// Progress is set).
func DefaultConfig() Config {
	return Config{
		Workload:         WorkloadA,
		Distribution:     Zipfian,
		ZipfianConstant:  DefaultZipfianConstant,
		Keys:             100_000,
		KeyPrefix:        "user",
		ValueSize:        1024,
		Concurrency:      64,
		Duration:         30 * time.Second,
		ProgressInterval: time.Second,
	}
}

// headerSize is the run nonce and write id every value starts with.
const headerSize = 16

// maxKeys keeps key indexes within the ledger's 32 bits.
const maxKeys = 1 << 31

// Validate reports every problem with c at once.
func (c Config) Validate() error {
	var errs []error
	if _, err := ParseWorkload(string(c.Workload)); err != nil {
		errs = append(errs, err)
	}
	switch c.Distribution {
	case Uniform, Zipfian:
	default:
		errs = append(errs, fmt.Errorf("unknown distribution %q: want uniform or zipfian", c.Distribution))
	}
	if c.Distribution == Zipfian && !(c.ZipfianConstant > 0 && c.ZipfianConstant < 1) {
		errs = append(errs, fmt.Errorf("zipfian constant %v: want 0 < θ < 1", c.ZipfianConstant))
	}
	if c.Keys < 1 || c.Keys > maxKeys {
		errs = append(errs, fmt.Errorf("keys %d: want 1..%d", c.Keys, maxKeys))
	}
	if len(c.KeyPrefix)+20 > 1024 {
		errs = append(errs, fmt.Errorf("key prefix of %d bytes leaves no room in a 1024-byte key", len(c.KeyPrefix)))
	}
	minValue := 1
	if c.Verify {
		minValue = headerSize
	}
	if c.ValueSize < minValue {
		errs = append(errs, fmt.Errorf("value size %d: want at least %d bytes", c.ValueSize, minValue))
	}
	if c.Concurrency < 1 {
		errs = append(errs, fmt.Errorf("concurrency %d: want at least 1", c.Concurrency))
	}
	if c.Duration < 0 || c.Ops < 0 || c.Rate < 0 {
		errs = append(errs, errors.New("duration, op count and rate must not be negative"))
	}
	if c.Duration == 0 && c.Ops == 0 && !c.Preload {
		errs = append(errs, errors.New("nothing to run: set a duration, an op count or preload"))
	}
	if c.Progress != nil && c.ProgressInterval <= 0 {
		errs = append(errs, errors.New("progress interval must be positive"))
	}
	return errors.Join(errs...)
}
