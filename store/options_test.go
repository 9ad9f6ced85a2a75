package store

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

func TestOptionsValidate(t *testing.T) {
	for name, o := range map[string]Options{
		"no dir":                   {},
		"dir and in memory":        {Dir: "x", InMemory: true},
		"tiny memtable":            {Dir: "x", MemTableSize: 1000},
		"negative block cache":     {Dir: "x", BlockCacheSize: -1},
		"negative index cache":     {Dir: "x", IndexCacheSize: -1},
		"threshold above 1 MiB":    {Dir: "x", ValueThreshold: 2 << 20, MemTableSize: 64 << 20},
		"threshold above 15%":      {Dir: "x", ValueThreshold: 2 << 20 / 10, MemTableSize: 1 << 20},
		"negative threshold":       {Dir: "x", ValueThreshold: -1},
		"small value-log files":    {Dir: "x", ValueLogFileSize: 1000},
		"value-log files of 2 GiB": {Dir: "x", ValueLogFileSize: 2 << 30},
		"one compactor":            {Dir: "x", NumCompactors: 1},
	} {
		if _, err := Open(o); !errors.Is(err, ErrInvalidOptions) {
			t.Errorf("%s: Open err = %v; want ErrInvalidOptions", name, err)
		}
	}
	if err := (Options{Dir: "x"}).withDefaults().validate(); err != nil {
		t.Errorf("defaults do not validate: %v", err)
	}
	if err := (Options{InMemory: true}).withDefaults().validate(); err != nil {
		t.Errorf("in-memory defaults do not validate: %v", err)
	}
}

func TestOptionsDefaults(t *testing.T) {
	bo := Options{Dir: "d"}.withDefaults().badgerOptions()
	if bo.MemTableSize != 8<<20 || bo.NumMemtables != 2 || bo.BlockCacheSize != 8<<20 ||
		bo.IndexCacheSize != 8<<20 || bo.ValueThreshold != 1<<10 || bo.ValueLogFileSize != 64<<20 ||
		bo.NumCompactors != 2 || bo.MetricsEnabled || bo.DetectConflicts || bo.SyncWrites || bo.Logger != nil {
		t.Fatalf("unexpected badger options: %+v", bo)
	}
	// Explicit values win over defaults.
	bo = Options{Dir: "d", MemTableSize: 32 << 20, ValueThreshold: 4096, SyncWrites: true}.withDefaults().badgerOptions()
	if bo.MemTableSize != 32<<20 || bo.ValueThreshold != 4096 || !bo.SyncWrites {
		t.Fatalf("explicit options lost: %+v", bo)
	}
}

// lockedBuffer is a bytes.Buffer safe for badger's concurrent goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) WriteString(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.WriteString(s)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *lockedBuffer) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Reset()
}

// recordHandler keeps the level, message and attributes of every record.
type recordHandler struct{ buf *lockedBuffer }

func (h recordHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelDebug }
func (h recordHandler) Handle(_ context.Context, r slog.Record) error {
	h.buf.WriteString(r.Level.String() + " " + r.Message + "\n")
	return nil
}
func (h recordHandler) WithAttrs(as []slog.Attr) slog.Handler {
	for _, a := range as {
		h.buf.WriteString("attr " + a.String() + "\n")
	}
	return h
}
func (h recordHandler) WithGroup(string) slog.Handler { return h }

func TestLoggerAdapter(t *testing.T) {
	var buf lockedBuffer
	a := slogAdapter{slog.New(recordHandler{&buf})}
	a.Debugf("debug %d", 1)
	a.Infof("info %d\n", 2)
	a.Warningf("warn %s", "x")
	a.Errorf("error")
	// badger's INFO is internals: demoted to DEBUG.
	want := "DEBUG debug 1\nDEBUG info 2\nWARN warn x\nERROR error\n"
	if buf.String() != want {
		t.Fatalf("logged:\n%s\nwant:\n%s", buf.String(), want)
	}

	// Open routes badger's own lines through the logger, tagged.
	buf.Reset()
	s := openTest(t, Options{Logger: slog.New(recordHandler{&buf})})
	s.Close()
	if out := buf.String(); !strings.Contains(out, "attr component=badger") || !strings.Contains(out, "DEBUG ") {
		t.Fatalf("badger logged nothing through the adapter:\n%s", out)
	}
}
