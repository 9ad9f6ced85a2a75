package main

// The token commands: create, list and revoke client bearer tokens in a
// tokens file. They edit the file only (package security/auth); running
// nodes read it again on SIGHUP.

import (
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/dynkv/dynkv/security/auth"
)

// defaultTokensFile is --tokens-file's default, relative to the working
// directory as serve's is.
const defaultTokensFile = "tokens"

const tokenUsage = `Usage: dynkv token <subcommand> [flags]

Manage the client bearer tokens in a tokens file. The file keeps only each
token's SHA-256, so a token is shown once, when it is created.

Subcommands:
  create NAME --role read|write|admin   make a token for NAME and print it once
  list                                  list names, roles and hash ids (never a token)
  revoke NAME                           remove NAME's token

Running nodes pick changes up when they get SIGHUP.
Run 'dynkv token <subcommand> --help' for its flags.
`

func runToken(args []string, _ io.Reader, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	return runSubcommand("token", tokenUsage, tokenSubs(), args, stdout, stderr, lookupEnv)
}

func tokenSubs() map[string]subcommand {
	return map[string]subcommand{"create": runTokenCreate, "list": runTokenList, "revoke": runTokenRevoke}
}

// tokenCmd is what the token subcommands share: their flags and the file.
type tokenCmd struct {
	name   string // "token create"
	f      *flags
	file   string
	output string
}

func newTokenCmd(sub, usage, summary string) *tokenCmd {
	c := &tokenCmd{name: "token " + sub, f: newFlags(usage, summary)}
	c.f.StringVar(&c.file, "tokens-file", defaultTokensFile, "the tokens file, a `path`")
	return c
}

// run parses args, which must hold nargs positional arguments, and runs
// body with them. Exit codes: 2 with a usage hint for bad usage (a
// usageError from body too), 1 with one line for anything else.
func (c *tokenCmd) run(args []string, stdout, stderr io.Writer, lookupEnv func(string) (string, bool), nargs int,
	body func(pos []string) error) int {
	pos, err := c.f.parseInterspersed(args, lookupEnv)
	if err == nil && len(pos) != nargs {
		err = c.argCountError(pos, nargs)
	}
	switch {
	case errors.Is(err, flag.ErrHelp):
		c.f.printUsage(stdout)
		return 0
	case err != nil:
		fmt.Fprintf(stderr, "dynkv %s: %v (see dynkv %s --help)\n", c.name, oneLine(err), c.name)
		return 2
	}
	if err := body(pos); err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "dynkv %s: %v (see dynkv %s --help)\n", c.name, oneLine(err), c.name)
			return 2
		}
		fmt.Fprintf(stderr, "dynkv %s: %s\n", c.name, oneLine(err))
		return 1
	}
	return 0
}

func (c *tokenCmd) argCountError(pos []string, nargs int) error {
	if len(pos) > nargs {
		return fmt.Errorf("unexpected argument %q", pos[nargs])
	}
	return fmt.Errorf("missing argument; usage: %s", c.f.usage)
}

func runTokenCreate(args []string, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	c := newTokenCmd("create", "dynkv token create NAME --role read|write|admin [flags]",
		"Make a new token for NAME and add its hash to the tokens file (creating the file,\n"+
			"mode 0600, if it does not exist). The token is printed once, alone on stdout, so\n"+
			"TOKEN=$(dynkv token create ...) keeps it; it cannot be shown again. read may read\n"+
			"keys and cluster state, write may also write and delete keys, admin may do anything.")
	var role string
	c.f.choice(&role, "role", "", []string{"read", "write", "admin"}, "what the token may do: `role` read, write or admin")
	return c.run(args, stdout, stderr, lookupEnv, 1, func(pos []string) error {
		name := pos[0]
		if err := auth.ValidateName(name); err != nil {
			return usageError{err}
		}
		if role == "" {
			return usageError{errors.New("--role is required: read, write or admin")}
		}
		r, err := auth.ParseRole(role)
		if err != nil {
			return usageError{err}
		}
		token, err := auth.CreateToken(c.file, name, r)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintln(stdout, token); err != nil {
			return fmt.Errorf("printing the token (it is in %s already: revoke %s and create another): %w", c.file, name, err)
		}
		fmt.Fprintf(stderr, "created a %s token for %s in %s. It cannot be shown again: keep it now.\n"+
			"Running nodes pick it up on SIGHUP (kill -HUP <pid>).\n", r, name, c.file)
		return nil
	})
}

// tokenListJSON is one entry of `dynkv token list -o json`.
type tokenListJSON struct {
	Name string `json:"name"`
	Role string `json:"role"`
	ID   string `json:"id"`
}

// hashID names a token by the first 8 hex digits of its hash: enough to
// tell entries apart, far too little to matter to anyone guessing tokens.
func hashID(h [32]byte) string { return hex.EncodeToString(h[:4]) }

func runTokenList(args []string, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	c := newTokenCmd("list", "dynkv token list [flags]",
		"List the tokens file: each name, its role, and an id (the first 8 hex digits of\n"+
			"the token's hash). Tokens themselves are never stored, so never shown.\n"+
			"-o json prints [{name, role, id}].")
	c.f.choice(&c.output, "output", "text", []string{"text", "json"}, "output `format`: text, json (short: -o)")
	return c.run(args, stdout, stderr, lookupEnv, 0, func([]string) error {
		entries, err := auth.ListTokens(c.file)
		if err != nil {
			return err
		}
		if c.output == "json" {
			out := make([]tokenListJSON, 0, len(entries))
			for _, e := range entries {
				out = append(out, tokenListJSON{Name: e.Name, Role: e.Role.String(), ID: hashID(e.Hash)})
			}
			return writeJSON(stdout, out)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tROLE\tID")
		for _, e := range entries {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", e.Name, e.Role, hashID(e.Hash))
		}
		return tw.Flush()
	})
}

func runTokenRevoke(args []string, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	c := newTokenCmd("revoke", "dynkv token revoke NAME [flags]",
		"Remove NAME's token from the tokens file. Running nodes stop accepting it when they\n"+
			"get SIGHUP (kill -HUP <pid>).")
	return c.run(args, stdout, stderr, lookupEnv, 1, func(pos []string) error {
		if err := auth.RevokeToken(c.file, pos[0]); err != nil {
			return err
		}
		_, err := fmt.Fprintf(stdout, "revoked the token of %s in %s; running nodes drop it on SIGHUP\n", pos[0], c.file)
		return err
	})
}
