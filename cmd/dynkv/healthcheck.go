package main

// `dynkv healthcheck` asks the node of this host whether it can serve. It
// exists for container health checks: an image built FROM scratch has no
// shell and no curl, only this binary, and the check must find the node
// from the same environment that configured `dynkv serve`. Its flags are
// serve's (one meaning, one variable), so DYNKV_HTTP_ADDR configures both.

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/dynkv/dynkv/node"
)

func runHealthcheck(args []string, stdin io.Reader, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	f := newFlags("dynkv healthcheck [flags]",
		"Exit 0 when the node listening on --http-addr answers GET /healthz with 200, 1 otherwise\n"+
			"(also while it shuts down, when /healthz answers 503). For container health checks:\n"+
			"it reads the same DYNKV_HTTP_ADDR as dynkv serve, and an every-interface address\n"+
			"such as 0.0.0.0:8080 is checked on loopback. With --live it asks /livez instead, which\n"+
			"answers 200 while the process serves at all, draining included: for liveness checks\n"+
			"that restart a node, which must not kill one that is shutting down gracefully.")
	var (
		addr             string
		timeout          time.Duration
		live             bool
		certsDir, tlsCrt string
	)
	// Serve's own flags, so the container's DYNKV_CERTS_DIR or
	// DYNKV_TLS_CERT says the node's API speaks TLS.
	f.StringVar(&certsDir, "certs-dir", "", certsDirUsage)
	f.StringVar(&tlsCrt, "tls-cert", "", tlsCertUsage)
	f.BoolVar(&live, "live", false, "check liveness (/livez) instead of readiness (/healthz)")
	f.StringVar(&addr, "http-addr", node.DefaultConfig().HTTPAddr, httpAddrUsage)
	f.share("certs-dir", "tls-cert", "http-addr")
	f.DurationVar(&timeout, "timeout", 2*time.Second, "bound on the check, a `duration`")
	switch err := f.parse(args, lookupEnv); {
	case errors.Is(err, flag.ErrHelp):
		f.printUsage(stdout)
		return 0
	case err != nil:
		fmt.Fprintf(stderr, "dynkv healthcheck: %v (see dynkv healthcheck --help)\n", err)
		return 2
	}
	target, err := localTarget(addr)
	if err != nil {
		fmt.Fprintf(stderr, "dynkv healthcheck: --http-addr %v\n", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	path := "/healthz"
	if live {
		path = "/livez"
	}
	scheme := "http"
	transport := &http.Transport{DisableKeepAlives: true}
	if certsDir != "" || tlsCrt != "" {
		// The probe reads one status from this host's own node and sends
		// nothing secret, so it does not verify the certificate: the node's
		// certificate need not name the loopback address it is dialled at.
		scheme = "https"
		transport.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	}
	url := scheme + "://" + target + path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		fmt.Fprintf(stderr, "dynkv healthcheck: %v\n", err)
		return 2
	}
	// No keep-alive and no proxy from the environment: one request to
	// this host's node.
	client := &http.Client{Transport: transport}
	resp, err := client.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "unhealthy: %v\n", err)
		return 1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "unhealthy: %s answered %s: %s\n", url, resp.Status, body)
		return 1
	}
	fmt.Fprintf(stdout, "healthy: %s\n", body)
	return 0
}

// localTarget turns a listen address into one to dial from the same host:
// an every-interface host (0.0.0.0, ::, or none) becomes loopback.
func localTarget(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" || port == "0" {
		return "", fmt.Errorf("%q: want host:port with a concrete port", addr)
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
		if ip != nil && ip.To4() == nil {
			host = "::1"
		}
	}
	return net.JoinHostPort(host, port), nil
}
