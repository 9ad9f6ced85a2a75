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
	defaultEndpoints := "http://127.0.0.1:8081,http://127.0.0.1:8082,http://127.0.0.1:8083"
	if env := os.Getenv("DYNKV_ENDPOINTS"); env != "" {
		defaultEndpoints = env
	}
	endpoints := fs.String("endpoints", defaultEndpoints, "dynkv nodes, comma-separated URLs (env DYNKV_ENDPOINTS)")
	addr := fs.String("addr", "127.0.0.1:8090", "address to serve the shop on")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))

	kv, err := client.New(strings.Split(*endpoints, ","))
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
