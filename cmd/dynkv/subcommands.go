package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// subcommand is the entry point of one subcommand of a command group
// (dynkv cert create-ca, dynkv token list, ...).
type subcommand func(args []string, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int

// runSubcommand dispatches a command group: no argument prints usage and
// exits 2, help (or help SUB) prints it, an unknown subcommand exits 2
// naming the known ones.
func runSubcommand(group, usage string, subs map[string]subcommand, args []string, stdout, stderr io.Writer,
	lookupEnv func(string) (string, bool)) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 && subs[args[1]] != nil {
			return subs[args[1]]([]string{"--help"}, stdout, stderr, lookupEnv)
		}
		fmt.Fprint(stdout, usage)
		return 0
	}
	sub := subs[args[0]]
	if sub == nil {
		names := slices.Sorted(maps.Keys(subs))
		fmt.Fprintf(stderr, "dynkv %s: unknown subcommand %q; want one of %s (see dynkv %s --help)\n", group, args[0], strings.Join(names, ", "), group)
		return 2
	}
	return sub(args[1:], stdout, stderr, lookupEnv)
}

// commandGroups maps each command group of commands() to its subcommands,
// for what walks every flag set (completion, the environment rule's test).
func commandGroups() map[string]map[string]subcommand {
	return map[string]map[string]subcommand{"cert": certSubs(), "token": tokenSubs(), "keyring": keyringSubs(), "bucket": bucketSubs()}
}
