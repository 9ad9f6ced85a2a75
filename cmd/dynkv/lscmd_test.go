package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// dynkv ls lists every live key once, deleted ones not, and --prefix
// narrows it; odd keys come back quoted, and exactly.
func TestCLILs(t *testing.T) {
	t.Parallel()
	_, eps := cliCluster(t)
	env := []string{"DYNKV_ENDPOINTS=" + eps}
	var want []string
	for i := range 120 {
		k := fmt.Sprintf("ls/%03d", i)
		mustCLI(t, env, "put", k, "v")
		want = append(want, k)
	}
	mustCLI(t, env, "put", "ls/odd\nkey", "v")
	mustCLI(t, env, "put", "other", "v")
	mustCLI(t, env, "delete", "ls/007") // a delete of what it reads
	want = slices.DeleteFunc(want, func(k string) bool { return k == "ls/007" })
	want = append(want, "ls/odd\nkey")

	var got []string
	for _, line := range strings.Split(strings.TrimSuffix(mustCLI(t, env, "ls", "--prefix", "ls/", "--page", "7"), "\n"), "\n") {
		if strings.HasPrefix(line, `"`) {
			k, err := strconv.Unquote(line)
			if err != nil {
				t.Fatalf("line %q: %v", line, err)
			}
			line = k
		}
		got = append(got, line)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("ls --prefix ls/: %d keys, want %d:\n%q", len(got), len(want), got)
	}
	if all := mustCLI(t, env, "ls"); !strings.Contains(all, "other\n") || strings.Count(all, "\n") != len(want)+1 {
		t.Fatalf("ls: %d lines, want %d", strings.Count(all, "\n"), len(want)+1)
	}
	if r := cli(t, "", env, "ls", "--page", "0"); r.code != 2 {
		t.Errorf("--page 0: exit %d, want 2", r.code)
	}
}
