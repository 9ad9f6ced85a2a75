// Command shoppingcart is a small web shop that keeps each cart in dynkv,
// as an observed-remove set, through the Go SDK. Run a cluster and the
// shop:
//
//	go run ./cmd/dynkv dev
//	go run ./examples/shoppingcart --endpoints http://127.0.0.1:8081,http://127.0.0.1:8082,http://127.0.0.1:8083
//
// and open http://127.0.0.1:8090. Open the same cart in two tabs, change it
// in both without refreshing, and the next read shows the siblings and
// their merge. Kill a node (or stop dev's first node) and the shop keeps
// working through the others.
//
// For a secured cluster add --ca-cert (and --client-cert and --client-key
// if its nodes require client certificates), and the token in DYNKV_TOKEN.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/dynkv/dynkv/client"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "shoppingcart:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("shoppingcart", flag.ContinueOnError)
	endpoints := fs.String("endpoints", envOr("DYNKV_ENDPOINTS", "http://127.0.0.1:8081,http://127.0.0.1:8082,http://127.0.0.1:8083"),
		"dynkv nodes, comma-separated URLs or host:port (env DYNKV_ENDPOINTS)")
	addr := fs.String("addr", "127.0.0.1:8090", "address to serve the shop on")
	caCert := fs.String("ca-cert", envOr("DYNKV_CA_CERT", ""), "cluster CA `file`: speak https to dynkv (env DYNKV_CA_CERT)")
	clientCert := fs.String("client-cert", envOr("DYNKV_CLIENT_CERT", ""), "client certificate `file` for nodes that require one (env DYNKV_CLIENT_CERT)")
	clientKey := fs.String("client-key", envOr("DYNKV_CLIENT_KEY", ""), "key `file` of --client-cert (env DYNKV_CLIENT_KEY)")
	// The token's environment variable is read after parsing, not made the
	// default: -help prints defaults.
	token := fs.String("token", "", "bearer `token` for a cluster that requires one (env DYNKV_TOKEN, preferred)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if *token == "" {
		*token = os.Getenv("DYNKV_TOKEN")
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))

	opts, err := securityOptions(*caCert, *clientCert, *clientKey, *token)
	if err != nil {
		return err
	}
	kv, err := client.New(strings.Split(*endpoints, ","), opts...)
	if err != nil {
		return err
	}
	defer kv.Close()
	shop, err := NewShop(kv, log)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: shop, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shutdown)
	}()
	log.Info("shop open", "url", "http://"+l.Addr().String(), "dynkv", kv.Endpoints())
	if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// securityOptions are the SDK options for a secured cluster: TLS when a CA
// is given (LoadTLSConfig says what is missing), a token when one is.
func securityOptions(caCert, clientCert, clientKey, token string) ([]client.Option, error) {
	var opts []client.Option
	if caCert != "" || clientCert != "" || clientKey != "" {
		cfg, err := client.LoadTLSConfig(caCert, clientCert, clientKey)
		if err != nil {
			return nil, err
		}
		opts = append(opts, client.WithTLS(cfg))
	}
	if token != "" {
		opts = append(opts, client.WithToken(token))
	}
	return opts, nil
}
