package ring

import (
	"errors"
	"math"
	"testing"
)

func TestDefaultConfigIsValid(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestValidate(t *testing.T) {
	edit := func(f func(*Config)) Config { c := DefaultConfig(); f(&c); return c }
	bad := map[string]Config{
		"zero value":        {},
		"Partitions 0":      edit(func(c *Config) { c.Partitions = 0 }),
		"Partitions -1":     edit(func(c *Config) { c.Partitions = -1 }),
		"Partitions 65537":  edit(func(c *Config) { c.Partitions = 65537 }),
		"N 0":               edit(func(c *Config) { c.N = 0 }),
		"VirtualNodes 1":    edit(func(c *Config) { c.VirtualNodes = 1 }),
		"VirtualNodes 4097": edit(func(c *Config) { c.VirtualNodes = 4097 }),
		"Load 1":            edit(func(c *Config) { c.Load = 1 }),
		"Load 0.5":          edit(func(c *Config) { c.Load = 0.5 }),
		"Load NaN":          edit(func(c *Config) { c.Load = math.NaN() }),
		"Load +Inf":         edit(func(c *Config) { c.Load = math.Inf(1) }),
		"Load -Inf":         edit(func(c *Config) { c.Load = math.Inf(-1) }),
	}
	for name, cfg := range bad {
		if err := cfg.Validate(); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: Validate() = %v, want ErrInvalidConfig", name, err)
		}
		if _, err := New(names(3), cfg); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: New = %v, want ErrInvalidConfig", name, err)
		}
	}
	good := map[string]Config{
		"smallest":  {Partitions: 1, N: 1, VirtualNodes: 2, Load: 1.0000001},
		"largest P": edit(func(c *Config) { c.Partitions = 65536 }),
		"N 10":      edit(func(c *Config) { c.N = 10 }),
		"VN 4096":   edit(func(c *Config) { c.VirtualNodes = 4096 }),
	}
	for name, cfg := range good {
		if err := cfg.Validate(); err != nil {
			t.Errorf("%s: Validate() = %v", name, err)
		}
	}
}

// TestPathologicalInputsReturnErrors covers every way we know to make
// consistent.New panic, through New and around it.
func TestPathologicalInputsReturnErrors(t *testing.T) {
	noPanic := func(name string, f func() error, want error) {
		t.Helper()
		defer func() {
			if r := recover(); r != nil {
				t.Errorf("%s: panicked: %v", name, r)
			}
		}()
		if err := f(); !errors.Is(err, want) {
			t.Errorf("%s: err = %v, want %v", name, err, want)
		}
	}
	cfg := DefaultConfig()
	newErr := func(ms []string, c Config) func() error {
		return func() error { _, err := New(ms, c); return err }
	}

	tiny := cfg
	tiny.Partitions = 4
	noPanic("more members than partitions", newErr(names(5), tiny), ErrTooManyMembers)
	noPanic("empty member name", newErr([]string{"a", ""}, cfg), ErrInvalidMember)
	huge := cfg
	huge.Partitions = 65536
	noPanic("walk table too large", newErr(names(65), huge), ErrTooManyMembers)

	// Past Validate, straight into the wrapper: consistent panics and the
	// recover must turn it into an error.
	loadOne := cfg
	loadOne.Partitions, loadOne.Load = 271, 1.0
	noPanic("Load 1.0, 5 members", func() error { _, err := ownerIndexes(names(5), loadOne); return err }, ErrInvalidConfig)
	oneVN := cfg
	oneVN.VirtualNodes = 1
	noPanic("1 virtual node, 1 member", func() error { _, err := ownerIndexes(names(1), oneVN); return err }, ErrInvalidConfig)
	noPanic("more members than partitions", func() error { _, err := ownerIndexes(names(5), tiny); return err }, ErrInvalidConfig)
}

// TestTightConfigsBuild checks the edges Validate lets through: Load just
// above 1, two virtual nodes, as many members as partitions.
func TestTightConfigsBuild(t *testing.T) {
	for _, tc := range []struct {
		members int
		cfg     Config
	}{
		{5, Config{Partitions: 271, N: 3, VirtualNodes: 128, Load: math.Nextafter(1, 2)}},
		{1, Config{Partitions: 1, N: 3, VirtualNodes: 2, Load: 1.01}},
		{7, Config{Partitions: 7, N: 3, VirtualNodes: 2, Load: 1.01}},
		{256, Config{Partitions: 256, N: 3, VirtualNodes: 2, Load: 1.01}},
		{100, Config{Partitions: 101, N: 5, VirtualNodes: 2, Load: 1.01}},
	} {
		r := mustNew(t, names(tc.members), tc.cfg)
		checkInvariants(t, r)
	}
}
