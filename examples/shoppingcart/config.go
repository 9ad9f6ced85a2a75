package main

// The shop's flags, in dynkv's style (cmd/dynkv): double dashes, and each
// flag also read from an environment variable by dynkv's rule. The client
// flags are the dynkv CLI's own, so they read the same DYNKV_ENDPOINTS,
// DYNKV_CA_CERT, DYNKV_CLIENT_CERT, DYNKV_CLIENT_KEY and DYNKV_TOKEN; the
// shop's own --addr and --cart-ttl read DYNKV_SHOPPINGCART_ADDR and
// DYNKV_SHOPPINGCART_CART_TTL. The command line wins
// over the environment, which wins over the default.

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
)

// defaultEndpoints are dynkv dev's nodes, bare so that --ca-cert makes
// them https, as for the dynkv CLI.
const defaultEndpoints = "127.0.0.1:8081,127.0.0.1:8082,127.0.0.1:8083"

type config struct {
	endpoints                     string
	addr                          string
	caCert, clientCert, clientKey string
	token                         string
	cartTTL                       time.Duration
}

// envOf names the variable of each flag.
var envOf = map[string]string{
	"endpoints": "DYNKV_ENDPOINTS", "ca-cert": "DYNKV_CA_CERT", "client-cert": "DYNKV_CLIENT_CERT",
	"client-key": "DYNKV_CLIENT_KEY", "token": "DYNKV_TOKEN", "addr": "DYNKV_SHOPPINGCART_ADDR",
	"cart-ttl": "DYNKV_SHOPPINGCART_CART_TTL",
}

func newFlagSet(c *config) *flag.FlagSet {
	fs := flag.NewFlagSet("shoppingcart", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.endpoints, "endpoints", defaultEndpoints, "dynkv nodes to use, `URLs` or host:port, comma-separated (https with --ca-cert)")
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8090", "`address` (host:port) to serve the shop on")
	fs.StringVar(&c.caCert, "ca-cert", "", "trust the cluster CA in this PEM `file` and speak https (host:port endpoints become https://)")
	fs.StringVar(&c.clientCert, "client-cert", "", "client certificate PEM `file`, for nodes that require one (with --client-key and --ca-cert)")
	fs.StringVar(&c.clientKey, "client-key", "", "private key PEM `file` of --client-cert")
	fs.StringVar(&c.token, "token", "", "bearer `token` for nodes that require one; prefer DYNKV_TOKEN, which the process list does not show")
	fs.DurationVar(&c.cartTTL, "cart-ttl", defaultCartTTL,
		"a cart nobody changes for this `duration` expires: the carts bucket's default TTL, set at start (needs an admin token; 0: never)")
	return fs
}

// parseConfig reads args, then the environment for the flags args left
// unset. --help prints the usage to help and returns flag.ErrHelp.
func parseConfig(args []string, lookupEnv func(string) (string, bool), help io.Writer) (config, error) {
	var c config
	fs := newFlagSet(&c)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(help, fs)
			return c, err
		}
		return c, errors.New(strings.ReplaceAll(err.Error(), " -", " --"))
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if v, ok := lookupEnv(envOf[f.Name]); ok && v != "" && !set[f.Name] {
			errs = append(errs, fs.Set(f.Name, v))
		}
	})
	return c, errors.Join(errs...)
}

func printUsage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprint(w, "Usage: shoppingcart [flags]\n\nServe the shopping-cart demo, keeping each cart in dynkv.\n\n"+
		"Flags (each also read from the environment variable shown; the command line wins):\n")
	fs.VisitAll(func(f *flag.Flag) {
		arg, usage := flag.UnquoteUsage(f)
		def := f.DefValue
		if def == "" {
			def = "none"
		}
		fmt.Fprintf(w, "  --%s %s\n        %s\n        env %s, default %s\n", f.Name, arg, usage, envOf[f.Name], def)
	})
}
