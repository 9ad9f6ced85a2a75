package ring

import (
	"fmt"
	"slices"
	"testing"
)

func BenchmarkPartitionOf(b *testing.B) {
	r := mustNew(b, names(5), DefaultConfig())
	key := []byte("user/000000000042") // 17 bytes, a typical short key
	b.ReportAllocs()
	for b.Loop() {
		_ = r.PartitionOf(key)
	}
}

// BenchmarkPreferenceList compares the shared slice New precomputes with
// what returning a copy would cost per request (the reason lists are shared).
func BenchmarkPreferenceList(b *testing.B) {
	r := mustNew(b, names(5), DefaultConfig())
	b.Run("shared", func(b *testing.B) {
		b.ReportAllocs()
		p := 0
		for b.Loop() {
			_ = r.PreferenceList(p)
			p = (p + 1) & 255
		}
	})
	b.Run("copy", func(b *testing.B) {
		b.ReportAllocs()
		p := 0
		for b.Loop() {
			_ = slices.Clone(r.PreferenceList(p))
			p = (p + 1) & 255
		}
	})
}

func BenchmarkNew(b *testing.B) {
	for _, tc := range []struct {
		members int
		cfg     Config
	}{
		{5, DefaultConfig()},
		{10, DefaultConfig()},
		{100, Config{Partitions: 4096, N: 3, VirtualNodes: 128, Load: 1.25}},
	} {
		ms := names(tc.members)
		b.Run(fmt.Sprintf("members=%d/P=%d", tc.members, tc.cfg.Partitions), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := New(ms, tc.cfg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkNewZoned is BenchmarkNew with the members in three zones: the
// zone pass (weights and weighted draws) on top of the walks.
func BenchmarkNewZoned(b *testing.B) {
	for _, tc := range []struct {
		members int
		cfg     Config
	}{
		{9, DefaultConfig()},
		{100, Config{Partitions: 4096, N: 3, VirtualNodes: 128, Load: 1.25}},
	} {
		ms := make([]Member, tc.members)
		for i, name := range names(tc.members) {
			ms[i] = Member{Name: name, Zone: fmt.Sprintf("z%d", i%3)}
		}
		b.Run(fmt.Sprintf("members=%d/P=%d", tc.members, tc.cfg.Partitions), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := NewZoned(ms, tc.cfg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
