package main

import "testing"

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		xs   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(c.xs); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.xs, got, c.want)
		}
	}
}

func TestWorstWindowP99(t *testing.T) {
	progress := `[preload   1.0s] 9000 ops/s | insert 9000/s p50 1.00ms p99 900.00ms | errors 0 | 9000 of 100000 keys
[run   1.0s] 5396 ops/s | read 2698/s p50 1.20ms p99 28.00ms | update 2698/s p50 1.30ms p99 31.50ms | errors 0
[run   2.0s] 5400 ops/s | read 2700/s p50 1.10ms p99 264.25ms | update 2700/s p50 1.20ms p99 25.00ms | errors 0
olric client: something else p99 999.00ms
`
	if got := worstWindowP99(progress); got != 264.25 {
		t.Errorf("worstWindowP99 = %v, want 264.25", got)
	}
	if got := worstWindowP99(""); got != 0 {
		t.Errorf("worstWindowP99 of nothing = %v, want 0", got)
	}
}
