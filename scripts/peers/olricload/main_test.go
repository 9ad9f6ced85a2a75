package main

import (
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/buraksezer/olric"

	"github.com/dynkv/dynkv/loadtest"
)

func TestParseTakesDynkvLoadtestFlags(t *testing.T) {
	cfg, o, err := parse([]string{"--endpoints", "127.0.0.1:1,127.0.0.1:2", "--workload", "b", "--value-size", "1KiB",
		"--keys", "10", "--concurrency", "3", "--duration", "2s", "--rate", "50", "--json", "--progress-interval", "1s"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Workload != loadtest.WorkloadB || cfg.ValueSize != 1024 || cfg.Keys != 10 || cfg.Concurrency != 3 ||
		cfg.Duration != 2*time.Second || cfg.Rate != 50 || cfg.ProgressInterval != time.Second || cfg.Progress == nil {
		t.Errorf("config %+v", cfg)
	}
	if o.endpoints != "127.0.0.1:1,127.0.0.1:2" || !o.jsonOut {
		t.Errorf("options %+v", o)
	}
	if _, _, err := parse([]string{"--value-size", "0"}, io.Discard); err == nil {
		t.Error("--value-size 0 accepted")
	}
	if _, _, err := parse([]string{"--duration", "0"}, io.Discard); err == nil {
		t.Error("a run with nothing to do accepted")
	}
}

func TestOpErrorKinds(t *testing.T) {
	for _, c := range []struct {
		err  error
		kind string
	}{
		{fmt.Errorf("put: %w", olric.ErrWriteQuorum), "olric_quorum"},
		{olric.ErrReadQuorum, "olric_quorum"},
		{fmt.Errorf("dial tcp 127.0.0.1:1: %w", olric.ErrConnRefused), loadtest.KindConnection},
		{io.EOF, loadtest.KindConnection},
		{errors.New("something new"), "olric_other"},
	} {
		if got := loadtest.ErrorKind(opError(c.err)); got != c.kind {
			t.Errorf("kind of %v = %q, want %q", c.err, got, c.kind)
		}
	}
}
