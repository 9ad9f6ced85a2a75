package pki

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
)

// The files in a certs directory.
const (
	CAFile       = "ca.crt"
	CAKeyFile    = "ca.key"
	NodeCertFile = "node.crt"
	NodeKeyFile  = "node.key"
	clientPrefix = "client."
)

// ClientCertFile and ClientKeyFile name a client's files: client.<name>.crt
// and client.<name>.key.
func ClientCertFile(name string) string { return clientPrefix + name + ".crt" }

// ClientKeyFile names a client's private key file.
func ClientKeyFile(name string) string { return clientPrefix + name + ".key" }

// File modes. Certificates are public; keys are readable by their owner
// only; the directories we create keep other users from even listing them.
const (
	certMode fs.FileMode = 0o644
	keyMode  fs.FileMode = 0o600
	dirMode  fs.FileMode = 0o700
)

// ErrInvalidName is wrapped by the error for a node id, client name or host
// that cannot go into a certificate, so a CLI can tell bad usage from a
// failure.
var ErrInvalidName = errors.New("invalid name")

// namePattern is what a node id or client name may look like: it becomes
// part of a URI and a file name, so no slashes, spaces or leading dots.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

func validName(what, s string) error {
	if !namePattern.MatchString(s) {
		return fmt.Errorf("%w: %s %q: want 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit", ErrInvalidName, what, s)
	}
	return nil
}

// checkAbsent fails, naming the first path that exists, unless overwrite.
// Callers check every file of a pair before writing either, so a refusal
// leaves nothing half-replaced. Two commands issuing into one directory at
// once can still both pass the check (rename replaces); that is an operator
// racing themselves, not something a certs tool needs to lock against.
func checkAbsent(overwrite bool, paths ...string) error {
	if overwrite {
		return nil
	}
	for _, p := range paths {
		if _, err := os.Lstat(p); err == nil {
			return fmt.Errorf("%s: %w", p, fs.ErrExist)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("check %s: %w", p, err)
		}
	}
	return nil
}

// writeFileAtomic writes data to path through a temporary file in the same
// directory, so a reader (a node reloading on SIGHUP) sees the old file or
// the new one, never a torn one. The temporary file is created 0600 and
// only chmod'ed to perm once written, so a key is never readable by others
// even for a moment; chmod is not subject to the umask, so perm is exact.
func writeFileAtomic(path string, data []byte, perm fs.FileMode) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = tmp.Chmod(perm); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("write %s: sync: %w", path, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return syncDir(dir)
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync dir %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync dir %s: %w", dir, err)
	}
	return nil
}

// writePair writes a certificate and its key, key first: a crash between
// the two leaves a new key beside the old certificate, which fails to load
// loudly, rather than a new certificate nobody has the key for.
func writePair(certPath string, der []byte, keyPath string, key *ecdsa.PrivateKey) error {
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("encode key for %s: %w", keyPath, err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	if err := writeFileAtomic(keyPath, keyPEM, keyMode); err != nil {
		return err
	}
	return writeFileAtomic(certPath, pemCert(der), certMode)
}

func pemCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// readCerts parses every CERTIFICATE block in a PEM file. Any other block
// is refused by type only: a key pasted into a .crt file must not be
// echoed back in the error.
func readCerts(path string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read certificate: %w", err)
	}
	var certs []*x509.Certificate
	for n := 1; ; n++ {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("%s: PEM block %d is a %q, want CERTIFICATE", path, n, b.Type)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: certificate %d: %w", path, n, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("%s: no PEM CERTIFICATE block", path)
	}
	if len(bytes.TrimSpace(data)) != 0 {
		return nil, fmt.Errorf("%s: trailing data after the last PEM block", path)
	}
	return certs, nil
}

// readKey parses a PEM private key: PKCS8 as written here, or SEC1 "EC
// PRIVATE KEY" as openssl writes it. Parse errors are replaced by our own:
// the parsers' messages are safe today, but this keeps that a local fact.
func readKey(path string) (*ecdsa.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	b, _ := pem.Decode(data)
	if b == nil {
		return nil, fmt.Errorf("%s: no PEM block", path)
	}
	switch b.Type {
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: not a valid PKCS8 private key", path)
		}
		ec, ok := k.(*ecdsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("%s: %T key, want ECDSA", path, k)
		}
		return ec, nil
	case "EC PRIVATE KEY":
		k, err := x509.ParseECPrivateKey(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: not a valid EC private key", path)
		}
		return k, nil
	}
	return nil, fmt.Errorf("%s: PEM block is a %q, want PRIVATE KEY", path, b.Type)
}
