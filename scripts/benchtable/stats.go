package main

import (
	"bufio"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// median of xs (the mean of the middle two for an even count); 0 for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// ms formats milliseconds with three significant digits or so.
func ms(v float64) string {
	switch {
	case v < 10:
		return strconv.FormatFloat(v, 'f', 2, 64)
	case v < 100:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 0, 64)
}

// times formats a ratio: two significant digits or so.
func times(v float64) string {
	if v < 10 {
		return strconv.FormatFloat(v, 'f', 1, 64) + "×"
	}
	return strconv.FormatFloat(v, 'f', 0, 64) + "×"
}

// progressP99 matches an operation's p99 in a loadtest progress line:
// "[run   3.0s] 5396 ops/s | read 2698/s p50 1.20ms p99 28.00ms | ...".
var progressP99 = regexp.MustCompile(`\bp99 ([0-9.]+)ms`)

// worstWindowP99 is the highest p99 of any operation kind in any progress
// line of the timed phase. The JSON report has only whole-run
// percentiles; the progress lines (one per --progress-interval) are the
// generator's only per-window figures, so bench.sh keeps them.
func worstWindowP99(progress string) float64 {
	worst := 0.0
	sc := bufio.NewScanner(strings.NewReader(progress))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "[run ") {
			continue
		}
		for _, m := range progressP99.FindAllStringSubmatch(line, -1) {
			if v, err := strconv.ParseFloat(m[1], 64); err == nil {
				worst = max(worst, v)
			}
		}
	}
	return worst
}
