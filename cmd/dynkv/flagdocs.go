package main

// Every command's flags, read from the commands themselves: completion
// scripts and the environment rule's test walk them, so neither can drift
// from the flag sets.

import (
	"bytes"
	"io"
	"maps"
	"slices"
	"strings"
)

// flagDoc is one flag as its command's --help lists it.
type flagDoc struct {
	name  string // without dashes
	arg   string // the value's name, empty for a switch
	usage string
	env   string // the variable it reads, empty when command line only
}

// commandDoc is one command or group subcommand: "get", "cert create-ca".
type commandDoc struct {
	path  string
	flags []flagDoc
}

// commandDocs lists every command and subcommand with its flags, sorted by
// path. A group itself ("cert") is not listed, its subcommands are.
func commandDocs() []commandDoc {
	var docs []commandDoc
	groups := commandGroups()
	for name, cmd := range commands() {
		if subs, ok := groups[name]; ok {
			for sub, run := range subs {
				var out bytes.Buffer
				run([]string{"--help"}, &out, io.Discard, noEnv)
				docs = append(docs, commandDoc{path: name + " " + sub, flags: parseFlagDocs(out.String())})
			}
			continue
		}
		var out bytes.Buffer
		cmd([]string{"--help"}, strings.NewReader(""), &out, io.Discard, noEnv)
		docs = append(docs, commandDoc{path: name, flags: parseFlagDocs(out.String())})
	}
	slices.SortFunc(docs, func(a, b commandDoc) int { return strings.Compare(a.path, b.path) })
	return docs
}

// topLevelNames are the words dynkv takes first: its commands, help and
// version.
func topLevelNames() []string {
	names := slices.Collect(maps.Keys(commands()))
	for _, extra := range []string{"help", "version"} {
		if !slices.Contains(names, extra) {
			names = append(names, extra)
		}
	}
	slices.Sort(names)
	return names
}

func noEnv(string) (string, bool) { return "", false }

// parseFlagDocs reads the flags out of flags.printUsage's output: a line
// "  --name [arg]", the usage, then "env VAR, default ..." or "command line
// only, default ...".
func parseFlagDocs(help string) []flagDoc {
	lines := strings.Split(help, "\n")
	var docs []flagDoc
	for i := 0; i+2 < len(lines); i++ {
		if !strings.HasPrefix(lines[i], "  --") {
			continue
		}
		head := strings.Fields(lines[i])
		d := flagDoc{name: strings.TrimPrefix(head[0], "--"), usage: strings.TrimSpace(lines[i+1])}
		if len(head) > 1 {
			d.arg = head[1]
		}
		if rest, ok := strings.CutPrefix(strings.TrimSpace(lines[i+2]), "env "); ok {
			d.env, _, _ = strings.Cut(rest, ",")
		}
		docs = append(docs, d)
		i += 2
	}
	return docs
}
