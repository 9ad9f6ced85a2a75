package main

// The keyring commands: make a gossip key, and list or change the cluster's
// gossip keyring through a node (GET/POST /admin/keyring). A key is
// printed only by generate, which made it; the others show fingerprints.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	sdk "github.com/dynkv/dynkv/client"
	"github.com/dynkv/dynkv/node/membership"
)

const keyringUsage = `Usage: dynkv keyring <subcommand> [flags]

Manage the key that encrypts and authenticates gossip (serf's keyring). Nodes
started with --gossip-key-file FILE (a keyring file, mode 0600) gossip only
with nodes holding one of its keys; a node without one cannot join, and sees
its join fail. Each node rewrites its file at every change, so a restarted
node keeps the keys it had.

Subcommands:
  generate [--file PATH]   make a random 32-byte key: print it, or write a new keyring file
  list                     the cluster's keys by fingerprint, and how many nodes hold each
  install KEY              add KEY to every node's keyring: nodes decrypt with it too
  use KEY                  make KEY every node's primary key: nodes encrypt with it
  remove KEY               remove KEY from every node's keyring (never a primary key)

KEY is base64, or --key-file FILE holding it (the key alone, or a keyring
file of one key), so that keys need not appear in shell history.

Rotating the key without downtime, each step reaching every node before the next:
  1. dynkv keyring generate --file new.keyring
  2. dynkv keyring install --key-file new.keyring   every node holds both keys
  3. dynkv keyring use --key-file new.keyring       every node encrypts with the new one
  4. dynkv keyring remove --key-file old.keyring    (a copy of the old key) only the new key opens gossip
dynkv keyring list between steps shows each key on every node. A step that a
node failed (it was down, say) names it: fix that and repeat the step, which
is safe to repeat. New nodes then start with the new keyring file.
Run 'dynkv keyring <subcommand> --help' for its flags.
`

func runKeyring(args []string, _ io.Reader, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	return runSubcommand("keyring", keyringUsage, keyringSubs(), args, stdout, stderr, lookupEnv)
}

func keyringSubs() map[string]subcommand {
	change := func(op string) subcommand {
		return func(args []string, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
			return runKeyringChange(op, args, stdout, stderr, lookupEnv)
		}
	}
	return map[string]subcommand{
		"generate": runKeyringGenerate, "list": runKeyringList,
		"install": change("install"), "use": change("use"), "remove": change("remove"),
	}
}

func runKeyringGenerate(args []string, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	f := newFlags("dynkv keyring generate [--file PATH]",
		"Make a new random 32-byte (AES-256) gossip key. Without --file it is printed\n"+
			"alone on stdout in base64; with --file it goes into a new keyring file (mode\n"+
			"0600, for --gossip-key-file or --key-file) and only its fingerprint is shown.")
	var file string
	f.StringVar(&file, "file", "", "write a new keyring `file` holding the key instead of printing it; an existing file is never replaced")
	pos, err := f.parseInterspersed(args, lookupEnv)
	if err == nil && len(pos) > 0 {
		err = fmt.Errorf("unexpected argument %q", pos[0])
	}
	switch {
	case errors.Is(err, flag.ErrHelp):
		f.printUsage(stdout)
		return 0
	case err != nil:
		fmt.Fprintf(stderr, "dynkv keyring generate: %v (see dynkv keyring generate --help)\n", oneLine(err))
		return 2
	}
	key, b64, err := newGossipKey()
	if err != nil {
		fmt.Fprintf(stderr, "dynkv keyring generate: %v\n", err)
		return 1
	}
	if file == "" {
		fmt.Fprintln(stdout, b64)
		return 0
	}
	if err := writeNewKeyringFile(file, b64); err != nil {
		fmt.Fprintf(stderr, "dynkv keyring generate: %v\n", oneLine(err))
		return 1
	}
	fmt.Fprintf(stdout, "wrote %s: a keyring of one key, fingerprint %s\n", file, membership.KeyFingerprint(key))
	return 0
}

// newGossipKey is a new random AES-256 gossip key, raw and in base64.
func newGossipKey() ([]byte, string, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, "", fmt.Errorf("random gossip key: %w", err)
	}
	return key, base64.StdEncoding.EncodeToString(key), nil
}

// writeNewKeyringFile writes ["<key>"] to a file that must not exist yet:
// replacing a keyring could lock a node out of its cluster.
func writeNewKeyringFile(path, b64 string) (err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("create keyring file: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("write keyring file %s: %w", path, cerr)
		}
		if err != nil {
			os.Remove(path)
		}
	}()
	if _, err := fmt.Fprintf(f, "[\n  %q\n]\n", b64); err != nil {
		return fmt.Errorf("write keyring file %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("write keyring file %s: %w", path, err)
	}
	return nil
}

func runKeyringList(args []string, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	c := newKVCmd("keyring list", "dynkv keyring list [flags]",
		"List the cluster's gossip keys by fingerprint (never the keys): how many nodes\n"+
			"hold each and how many encrypt with it. The node asked collects every member's\n"+
			"answer; a member that failed to answer is listed, and the command exits 1.",
		"text", "json")
	return c.run(args, stdout, stderr, lookupEnv, [2]int{0, 0}, func(ctx context.Context, cl *sdk.Client, _ []string) error {
		st, err := cl.Keyring(ctx)
		if err != nil {
			return err
		}
		if c.output == "json" {
			if err := writeJSON(stdout, st); err != nil {
				return err
			}
		} else if err := printKeyring(stdout, st); err != nil {
			return err
		}
		if st.Answered < st.Nodes || len(st.Errors) > 0 {
			return fmt.Errorf("%d of %d nodes answered without error", st.Answered-len(st.Errors), st.Nodes)
		}
		return nil
	})
}

func printKeyring(w io.Writer, st sdk.KeyringStatus) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FINGERPRINT\tNODES\tPRIMARY ON")
	for _, k := range st.Keys {
		fmt.Fprintf(tw, "%s\t%d/%d\t%d\n", k.Fingerprint, k.Nodes, st.Nodes, k.PrimaryNodes)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "%d of %d nodes answered (asked by %s)\n", st.Answered, st.Nodes, st.Node)
	for _, n := range slices.Sorted(maps.Keys(st.Errors)) {
		fmt.Fprintf(w, "  %s: %s\n", n, st.Errors[n])
	}
	return nil
}

func runKeyringChange(op string, args []string, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	summary := map[string]string{
		"install": "Add KEY to every node's gossip keyring. Nodes then decrypt gossip with it\nas well, and go on encrypting with their primary key: the first step of a rotation.",
		"use":     "Make KEY, installed on every node already, every node's primary key: the\nkey they encrypt gossip with. The second step of a rotation.",
		"remove":  "Remove KEY from every node's gossip keyring; nodes refuse to remove their\nprimary key. The last step of a rotation: only the other keys open gossip after.",
	}[op]
	c := newKVCmd("keyring "+op, "dynkv keyring "+op+" KEY|--key-file FILE [flags]",
		summary+"\nA node that failed the change is named, and the command exits 1; repeating it is safe.\n"+
			"-o json prints {fingerprint, change}.", "text", "json")
	var keyFile string
	c.f.StringVar(&keyFile, "key-file", "", "read KEY from `file` (base64, or a keyring file of one key) instead of the command line")
	call := map[string]func(*sdk.Client, context.Context, string) error{
		"install": (*sdk.Client).InstallGossipKey, "use": (*sdk.Client).UseGossipKey, "remove": (*sdk.Client).RemoveGossipKey,
	}[op]
	return c.run(args, stdout, stderr, lookupEnv, [2]int{0, 1}, func(ctx context.Context, cl *sdk.Client, pos []string) error {
		key, err := keyArgument(pos, keyFile)
		if err != nil {
			return err
		}
		raw, err := membership.DecodeGossipKey(key)
		if err != nil {
			return usageError{err}
		}
		if err := call(cl, ctx, key); err != nil {
			return err
		}
		if c.output == "json" {
			return writeJSON(stdout, map[string]string{"fingerprint": membership.KeyFingerprint(raw), "change": op})
		}
		done := map[string]string{"install": "installed on", "use": "now the primary key of", "remove": "removed from"}[op]
		_, err = fmt.Fprintf(stdout, "key %s %s every node\n", membership.KeyFingerprint(raw), done)
		return err
	})
}

// keyArgument is the key from the command line or from --key-file, which
// holds it alone or as a keyring file of one key (generate --file's).
func keyArgument(pos []string, keyFile string) (string, error) {
	switch {
	case len(pos) == 1 && keyFile != "":
		return "", usageError{errors.New("give KEY or --key-file, not both")}
	case len(pos) == 1:
		return strings.TrimSpace(pos[0]), nil
	case keyFile == "":
		return "", usageError{errors.New("missing KEY (or --key-file FILE)")}
	}
	b, err := os.ReadFile(keyFile)
	if err != nil {
		return "", fmt.Errorf("read the key: %w", err)
	}
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '[' {
		return string(b), nil
	}
	var keys []string
	// json's error may quote the file: say only what is wrong.
	if json.Unmarshal(b, &keys) != nil || len(keys) != 1 {
		return "", fmt.Errorf("key file %s: want one base64 key, or a keyring file of exactly one key", keyFile)
	}
	return strings.TrimSpace(keys[0]), nil
}
