// Command shoppingcart is a small web shop that keeps each cart in dynkv,
// as an observed-remove set, through the Go SDK. Run a cluster and the
// shop:
//
//	go run ./cmd/dynkv dev
//	go run ./examples/shoppingcart
//
// and open http://127.0.0.1:8090. Its flags are the dynkv CLI's:
// --endpoints (default dynkv dev's nodes, or DYNKV_ENDPOINTS), --addr,
// --cart-ttl (carts live in the bucket carts, and a cart nobody changes
// for that long expires; setting it needs an admin token), and
// for a secured cluster --ca-cert (and --client-cert and --client-key if
// its nodes require client certificates) and the token in DYNKV_TOKEN;
// shoppingcart --help lists them. Open the same cart in two tabs, change it
// in both without refreshing, and the next read shows the siblings and
// their merge. Kill a node (or stop dev's first node) and the shop keeps
// working through the others.
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

// main exits 2 on bad usage and 1 on other failures, as dynkv does.
func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "shoppingcart:", err)
		if errors.As(err, new(usageError)) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// usageError is a bad flag or argument.
type usageError struct{ error }

func run(args []string) error {
	cfg, err := parseConfig(args, os.LookupEnv, os.Stdout)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return usageError{fmt.Errorf("%w (see shoppingcart --help)", err)}
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))

	opts, err := securityOptions(cfg.caCert, cfg.clientCert, cfg.clientKey, cfg.token)
	if err != nil {
		return err
	}
	kv, err := client.New(strings.Split(cfg.endpoints, ","), opts...)
	if err != nil {
		return err
	}
	defer kv.Close()
	if cfg.cartTTL < 0 {
		return usageError{fmt.Errorf("--cart-ttl %v: want 0 (never) or more (see shoppingcart --help)", cfg.cartTTL)}
	}
	start, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	shop, err := NewShop(start, kv, log, cfg.cartTTL)
	cancel()
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", cfg.addr)
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
