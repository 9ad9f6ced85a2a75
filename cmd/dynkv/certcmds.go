package main

// The certificate commands: dynkv cert create-ca, create-node,
// create-client and list. They only parse flags and print; the files and
// what goes into them are package pki's.

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dynkv/dynkv/security/pki"
)

const certUsage = `Usage: dynkv cert <subcommand> [arguments] [flags]

Make the cluster's CA and its node and client certificates, and list them.

Subcommands:
  create-ca      make the cluster CA: ca.crt and ca.key in --certs-dir
  create-node    make a node's certificate, NODE_ID, signed by the CA in --certs-dir
  create-client  make a client certificate, NAME, signed by the CA in --certs-dir
  create-cluster  make a whole secured cluster's files: CA, node certificates,
                 gossip keyrings and an admin token (for init containers)
  install-node   install a node's files from a directory of the whole cluster's
                 (a Kubernetes Secret; deploy/kubernetes)
  list           list the certificates in --certs-dir

Every node needs a certs dir of its own holding ca.crt, node.crt and node.key.
Keep ca.key with whoever issues certificates; it never goes to a node. For a
cluster, issue each node's files into its own dir with --out-dir:

  dynkv cert create-ca
  dynkv cert create-node n1 --host n1.example,10.0.0.1 --out-dir certs/n1
  dynkv cert create-node n2 --host n2.example,10.0.0.2 --out-dir certs/n2
  dynkv cert create-client alice

and copy certs/n1 to node n1, and so on. Peers identify each other by node id
(the certificate's dynkv://node/<id> name), not by host name; --host is for
tools such as curl that check host names.

Run 'dynkv cert <subcommand> --help' for its flags.
`

func certSubs() map[string]subcommand {
	return map[string]subcommand{
		"create-ca":      runCertCreateCA,
		"create-node":    runCertCreateNode,
		"create-client":  runCertCreateClient,
		"create-cluster": runCertCreateCluster,
		"install-node":   runCertInstallNode,
		"list":           runCertList,
	}
}

func runCert(args []string, _ io.Reader, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	return runSubcommand("cert", certUsage, certSubs(), args, stdout, stderr, lookupEnv)
}

// certCmd is the flags every cert subcommand shares, and its exit-code
// mapping.
type certCmd struct {
	name      string // "create-node"
	f         *flags
	dir       string
	overwrite bool
	output    string // list only
}

func newCertCmd(name, usage, summary string) *certCmd {
	c := &certCmd{name: name, f: newFlags(usage, summary)}
	c.f.StringVar(&c.dir, "certs-dir", "certs", "the certs `directory`, holding the CA")
	return c
}

func (c *certCmd) overwriteFlag() {
	c.f.BoolVar(&c.overwrite, "overwrite", false, "replace files that exist (by default they are left alone and the command fails)")
	c.f.commandLineOnly["overwrite"] = true
}

// run parses args, expecting npos positional arguments, and runs body. Bad
// flags, arguments and names exit 2 with the usage hint; anything else
// exits 1 with one line.
func (c *certCmd) run(args []string, stdout, stderr io.Writer, lookupEnv func(string) (string, bool), npos int,
	body func(pos []string) error) int {
	pos, err := c.f.parseInterspersed(args, lookupEnv)
	switch {
	case errors.Is(err, flag.ErrHelp):
	case err != nil:
		err = usageError{err}
	case len(pos) > npos:
		err = usageError{fmt.Errorf("unexpected argument %q", pos[npos])}
	case len(pos) < npos:
		err = usageError{fmt.Errorf("missing argument; usage: %s", c.f.usage)}
	case c.dir == "":
		err = usageError{errors.New("--certs-dir must not be empty")}
	default:
		err = body(pos)
	}
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		c.f.printUsage(stdout)
		return 0
	case errors.As(err, &ue) || errors.Is(err, pki.ErrInvalidName):
		fmt.Fprintf(stderr, "dynkv cert %s: %v (see dynkv cert %s --help)\n", c.name, oneLine(err), c.name)
		return 2
	case errors.Is(err, fs.ErrExist):
		fmt.Fprintf(stderr, "dynkv cert %s: %v (pass --overwrite to replace it)\n", c.name, oneLine(err))
		return 1
	}
	fmt.Fprintf(stderr, "dynkv cert %s: %v\n", c.name, oneLine(err))
	return 1
}

func runCertCreateCA(args []string, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	c := newCertCmd("create-ca", "dynkv cert create-ca [flags]",
		"Make a new cluster CA: a self-signed certificate (ca.crt, valid 10 years) and its\n"+
			"private key (ca.key, mode 0600) in --certs-dir, which is created 0700 if missing.\n"+
			"ca.key signs every node and client certificate; keep it off the nodes.")
	c.overwriteFlag()
	return c.run(args, stdout, stderr, lookupEnv, 0, func([]string) error {
		if err := pki.CreateCA(c.dir, c.overwrite); err != nil {
			return err
		}
		_, err := fmt.Fprintf(stdout, "wrote the cluster CA: %s, %s\n",
			filepath.Join(c.dir, pki.CAFile), filepath.Join(c.dir, pki.CAKeyFile))
		return err
	})
}

func runCertCreateNode(args []string, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	c := newCertCmd("create-node", "dynkv cert create-node NODE_ID [flags]",
		"Make node NODE_ID's certificate (valid 2 years, for both serving and dialing peers),\n"+
			"signed by the CA in --certs-dir, as node.crt and node.key in --out-dir. NODE_ID is\n"+
			"the node's --node-id; peers check it, not host names. When --out-dir has no ca.crt,\n"+
			"the CA certificate (not its key) is copied there, so --out-dir is complete for the\n"+
			"node: give each node its own, e.g. --out-dir certs/n1.")
	c.overwriteFlag()
	var (
		hosts  []string
		outDir string
	)
	c.f.list(&hosts, "host", "a DNS `name` or IP address for the certificate; repeat it or separate with commas")
	c.f.defaultText["host"] = strings.Join(pki.DefaultHosts, ",")
	c.f.StringVar(&outDir, "out-dir", "", "the `directory` node.crt and node.key go to")
	c.f.defaultText["out-dir"] = "--certs-dir"
	return c.run(args, stdout, stderr, lookupEnv, 1, func(pos []string) error {
		if outDir == "" {
			outDir = c.dir
		}
		written, err := pki.CreateNodeIn(c.dir, outDir, pos[0], hosts, c.overwrite)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(stdout, "wrote node %s's certificate: %s\n", pos[0], strings.Join(written, ", "))
		return err
	})
}

func runCertCreateClient(args []string, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	c := newCertCmd("create-client", "dynkv cert create-client NAME [flags]",
		"Make a client certificate for NAME (valid 2 years, for clients only: it cannot act\n"+
			"as a node), signed by the CA in --certs-dir, as client.NAME.crt and client.NAME.key\n"+
			"in --certs-dir.")
	c.overwriteFlag()
	return c.run(args, stdout, stderr, lookupEnv, 1, func(pos []string) error {
		if err := pki.CreateClient(c.dir, pos[0], c.overwrite); err != nil {
			return err
		}
		_, err := fmt.Fprintf(stdout, "wrote client %s's certificate: %s, %s\n", pos[0],
			filepath.Join(c.dir, pki.ClientCertFile(pos[0])), filepath.Join(c.dir, pki.ClientKeyFile(pos[0])))
		return err
	})
}

// certJSON is one certificate as list -o json prints it.
type certJSON struct {
	Path        string   `json:"path"`
	Kind        string   `json:"kind"`
	Subject     string   `json:"subject"`
	NodeID      string   `json:"node_id,omitempty"`
	Hosts       []string `json:"hosts"`
	NotAfter    string   `json:"not_after"`
	Fingerprint string   `json:"fingerprint_sha256"`
}

func runCertList(args []string, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	c := newCertCmd("list", "dynkv cert list [flags]",
		"List every certificate in the *.crt files of --certs-dir: kind (ca, node, client),\n"+
			"node id or subject, host names, expiry and file. -o json adds each one's SHA-256\n"+
			"fingerprint. Keys are never read.")
	c.f.choice(&c.output, "output", "text", []string{"text", "json"}, "output `format`: text, json (short: -o)")
	return c.run(args, stdout, stderr, lookupEnv, 0, func([]string) error {
		infos, err := pki.List(c.dir)
		if err != nil {
			return err
		}
		if c.output == "json" {
			out := []certJSON{}
			for _, in := range infos {
				out = append(out, certJSON{Path: in.Path, Kind: in.Kind, Subject: in.Subject, NodeID: in.NodeID,
					Hosts: append([]string{}, in.Hosts...), NotAfter: in.NotAfter.UTC().Format(time.RFC3339), Fingerprint: in.Fingerprint})
			}
			return writeJSON(stdout, out)
		}
		if len(infos) == 0 {
			_, err := fmt.Fprintf(stdout, "no certificates in %s\n", c.dir)
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "KIND\tNAME\tHOSTS\tEXPIRES\tPATH")
		for _, in := range infos {
			name := in.Subject
			if in.NodeID != "" {
				name = in.NodeID
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", in.Kind, name, orDash(strings.Join(in.Hosts, ",")), expires(in.NotAfter), in.Path)
		}
		return tw.Flush()
	})
}

// expires shows an expiry date, flagging one that has passed or is near
// enough that the certificate should be reissued now.
func expires(t time.Time) string {
	s := t.UTC().Format("2006-01-02")
	switch left := time.Until(t); {
	case left <= 0:
		return s + " (EXPIRED)"
	case left < 30*24*time.Hour:
		return s + fmt.Sprintf(" (in %dd)", int(left.Hours()/24))
	}
	return s
}
