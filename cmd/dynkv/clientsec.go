package main

// The flags of a client of a secured cluster, shared by the commands that
// talk to one: the kvCmd commands and loadtest.

import (
	"crypto/tls"
	"errors"
	"fmt"

	sdk "github.com/dynkv/dynkv/client"
)

// clientSecurity holds --ca-cert, --client-cert, --client-key and --token.
type clientSecurity struct {
	caCert, clientCert, clientKey string
	token                         string // never printed: --help shows only the static default
}

func (s *clientSecurity) register(f *flags) {
	f.StringVar(&s.caCert, "ca-cert", "", "trust the cluster CA in this PEM `file` and speak https (host:port endpoints become https://)")
	f.StringVar(&s.clientCert, "client-cert", "", "client certificate PEM `file`, for nodes that require one (with --client-key and --ca-cert)")
	f.StringVar(&s.clientKey, "client-key", "", "private key PEM `file` of --client-cert")
	f.StringVar(&s.token, "token", "", "bearer `token` for nodes that require one; prefer DYNKV_TOKEN, which the process list does not show")
	f.share("ca-cert", "client-cert", "client-key", "token")
}

// load checks the flags and reads the TLS files: nil without --ca-cert.
func (s *clientSecurity) load() (*tls.Config, error) {
	if s.token != "" {
		if err := sdk.ValidateToken(s.token); err != nil {
			return nil, fmt.Errorf("--token: %w", err)
		}
	}
	if s.caCert == "" {
		if s.clientCert != "" || s.clientKey != "" {
			return nil, errors.New("--client-cert and --client-key need --ca-cert, the cluster CA to trust")
		}
		return nil, nil
	}
	if (s.clientCert == "") != (s.clientKey == "") {
		return nil, errors.New("give --client-cert and --client-key together")
	}
	return sdk.LoadTLSConfig(s.caCert, s.clientCert, s.clientKey)
}

// sdkOptions are the SDK client's options for the flags.
func (s *clientSecurity) sdkOptions() ([]sdk.Option, error) {
	cfg, err := s.load()
	if err != nil {
		return nil, err
	}
	var opts []sdk.Option
	if cfg != nil {
		opts = append(opts, sdk.WithTLS(cfg))
	}
	if s.token != "" {
		opts = append(opts, sdk.WithToken(s.token))
	}
	return opts, nil
}

// authHint says what to do about a refusal by the cluster's token check.
func authHint(err error) string {
	switch {
	case errors.Is(err, sdk.ErrUnauthenticated):
		return " (give a token with --token or DYNKV_TOKEN)"
	case errors.Is(err, sdk.ErrForbidden):
		return " (the token's role does not allow this; an admin can make one that does with dynkv token create)"
	}
	return ""
}
