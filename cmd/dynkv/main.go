// Command dynkv runs dynkv nodes: one per process (serve) or a whole local
// cluster in one process (dev). It only wires configuration together; the
// behaviour lives in package node.
package main

import (
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.LookupEnv))
}

// command is a subcommand's entry point. It gets the process's streams and
// environment as arguments rather than from package state, so a test can
// hand it its own; it returns the exit code: 0 success, 1 failure at run
// time, 2 bad usage.
type command func(args []string, stdin io.Reader, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int

// commands maps each subcommand to its entry point.
func commands() map[string]command {
	return map[string]command{
		"serve":    runServe,
		"dev":      runDev,
		"loadtest": runLoadtest,
		"get":      runGet,
		"put":      runPut,
		"delete":   runDelete,
		"members":  runMembers,
		"ls":       runLs,
		"bucket":   runBucket,
		"backup":   runBackup,
		"restore":  runRestore,
		"ring":     runRing,
		"status":   runStatus,
		"leave":    runLeave,
		"remove":   runRemove,
		"cert":     runCert,
		"token":    runToken,
		"keyring":  runKeyring,
		"version":  runVersion,

		"completion": runCompletion,

		"healthcheck": runHealthcheck,
	}
}

const usage = `dynkv is a Dynamo-style, always-writable key-value store.

Usage: dynkv <command> [flags]

Commands:
  serve     run one node
  dev       run a local cluster of nodes in this process, for trying dynkv out
  loadtest  run a YCSB-style load against a cluster (or Redis) and report latencies
  get       read a key: its value, or every sibling, and its causal context
  put       write a key (value from the argument or stdin) with --context
  delete    delete what a read of a key saw
  ls        list the cluster's live keys (--prefix), page by page
  bucket    list buckets, show or set a bucket's props (list, get, set); key commands take --bucket
  backup    write every key, siblings and context included, to a checksummed file
  restore   merge a backup back into the cluster (nothing newer is overwritten)
  members   list the cluster's members and their status
  ring      show partition ownership, or where one key lives (--key)
  status    one screen: members, ownership, hints, handoffs, anti-entropy
  leave     make a node leave for good, handing its data off first (--wait)
  remove    remove a dead node for good; survivors re-replicate its data
  cert      make the cluster CA and node/client certificates (create-ca, create-node, create-client, list)
  token     manage client bearer tokens in a tokens file (create, list, revoke)
  keyring   manage the gossip encryption key (generate, list, install, use, remove): rotation without downtime
  healthcheck  exit 0 when this host's node answers /healthz (for container health checks)
  completion   print a shell completion script: dynkv completion bash|zsh|fish
  version   print the version, the commit built and the Go release
  help      print this help, or a command's: dynkv help serve

Run 'dynkv <command> --help' for a command's flags.

` + envFooter

func run(args []string, stdin io.Reader, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	name, rest := args[0], args[1:]
	cmds := commands()
	switch name {
	case "help", "-h", "-help", "--help":
		if len(rest) > 0 && cmds[rest[0]] != nil {
			return cmds[rest[0]]([]string{"--help"}, stdin, stdout, stderr, lookupEnv)
		}
		fmt.Fprint(stdout, usage)
		return 0
	case "--version":
		name = "version"
	}
	cmd := cmds[name]
	if cmd == nil {
		fmt.Fprintf(stderr, "dynkv: unknown command %q; run 'dynkv help' for the list\n", name)
		return 2
	}
	return cmd(rest, stdin, stdout, stderr, lookupEnv)
}
