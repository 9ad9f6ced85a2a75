package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/dynkv/dynkv/internal/buildinfo"
)

// runVersion is `dynkv version`: the build of this binary, as every node
// reports its own at GET /version and in dynkv_build_info.
func runVersion(args []string, _ io.Reader, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	f := newFlags("dynkv version [flags]", "Print this binary's version, the commit it was built from and its Go release\n(a node reports its own at GET /version).")
	var output string
	f.choice(&output, "output", "text", []string{"text", "json"}, "output `format`: text, json (short: -o)")
	if _, err := f.parseInterspersed(args, lookupEnv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			f.printUsage(stdout)
			return 0
		}
		fmt.Fprintf(stderr, "dynkv version: %v (see dynkv version --help)\n", err)
		return 2
	}
	b := buildinfo.Get()
	if output == "json" {
		out, _ := json.Marshal(b) // three strings: cannot fail
		fmt.Fprintf(stdout, "%s\n", out)
		return 0
	}
	fmt.Fprintf(stdout, "dynkv %s\ncommit %s\n%s\n", b.Version, b.Commit, b.GoVersion)
	return 0
}
