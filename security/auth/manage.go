package auth

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
)

// fileMode is the tokens file's mode. The file holds only hashes, but
// whoever can write it can grant themselves admin.
const fileMode = 0o600

// CreateToken adds a new token for name with role to the tokens file at
// path, creating the file if it does not exist, and returns the token: the
// only time it is seen. It fails if name already has one.
func CreateToken(path, name string, role Role) (string, error) {
	if err := ValidateName(name); err != nil {
		return "", err
	}
	if !role.valid() {
		return "", ErrBadRole
	}
	entries, err := readTokensFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		// A file that does not parse is not overwritten: it may hold
		// entries that a fix of one line would bring back.
		return "", err
	}
	if slices.ContainsFunc(entries, func(e Entry) bool { return e.Name == name }) {
		return "", fmt.Errorf("%s already has a token in %s; revoke it first", name, path)
	}
	token, err := NewToken()
	if err != nil {
		return "", err
	}
	entries = append(entries, Entry{Name: name, Role: role, Hash: HashToken(token)})
	if err := writeTokensFile(path, entries); err != nil {
		return "", err
	}
	return token, nil
}

// ErrNoSuchToken is wrapped by RevokeToken's error for a name the file
// does not hold.
var ErrNoSuchToken = errors.New("no such token")

// RevokeToken removes name's token from the tokens file at path. It fails
// if name has none.
func RevokeToken(path, name string) error {
	entries, err := readTokensFile(path)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(entries, func(e Entry) bool { return e.Name == name })
	if i < 0 {
		if ValidateName(name) != nil {
			return fmt.Errorf("%w: no such name in %s", ErrNoSuchToken, path) // it might be a token: do not echo it
		}
		return fmt.Errorf("%w: %s has no token in %s", ErrNoSuchToken, name, path)
	}
	return writeTokensFile(path, slices.Delete(entries, i, i+1))
}

// ListTokens returns the entries of the tokens file at path.
func ListTokens(path string) ([]Entry, error) {
	return readTokensFile(path)
}

// writeTokensFile replaces the file at path with entries atomically: a
// node reloading at any moment reads the old file or the new one, never
// part of one, and a crash leaves one of the two.
func writeTokensFile(path string, entries []Entry) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write tokens file: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	// CreateTemp uses 0600 already; say so, whatever it does in future.
	if err := tmp.Chmod(fileMode); err != nil {
		return fmt.Errorf("write tokens file: %w", err)
	}
	if _, err := tmp.Write(FormatTokensFile(entries)); err != nil {
		return fmt.Errorf("write tokens file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("write tokens file: sync: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write tokens file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write tokens file: %w", err)
	}
	return syncDir(dir)
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("write tokens file: sync directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("write tokens file: sync directory: %w", err)
	}
	return nil
}
