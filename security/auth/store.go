package auth

import (
	"crypto/subtle"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
)

// Store holds the entries of one tokens file. It is safe for concurrent
// use: Lookup reads an immutable snapshot through an atomic pointer, so a
// request never waits for a Reload and never sees half of one.
type Store struct {
	path    string
	entries atomic.Pointer[[]Entry]
	// reload makes Reloads take effect in the order they read the file,
	// so a slow one cannot install an older file over a newer one.
	reload sync.Mutex
}

// OpenStore reads and parses the tokens file at path.
func OpenStore(path string) (*Store, error) {
	s := &Store{path: path}
	if err := s.Reload(); err != nil {
		return nil, err
	}
	return s, nil
}

// Reload reads the file again and swaps its entries in. On any error it
// keeps the entries it had: a file caught mid-edit must not lock every
// client out.
func (s *Store) Reload() error {
	s.reload.Lock()
	defer s.reload.Unlock()
	entries, err := readTokensFile(s.path)
	if err != nil {
		return err
	}
	s.entries.Store(&entries)
	return nil
}

// Lookup finds the entry whose hash is the token's. It compares against
// every entry in constant time and keeps the match with a constant-time
// select instead of returning at it, so neither which entry matched nor
// whether any did shows in the time taken. Hashes are unique in a parsed
// file, so at most one entry matches.
func (s *Store) Lookup(token string) (name string, role Role, ok bool) {
	if s == nil {
		return "", 0, false
	}
	p := s.entries.Load()
	if p == nil {
		return "", 0, false
	}
	entries := *p
	h := HashToken(token)
	match := -1
	for i := range entries {
		eq := subtle.ConstantTimeCompare(h[:], entries[i].Hash[:])
		match = subtle.ConstantTimeSelect(eq, i, match)
	}
	if match < 0 {
		return "", 0, false
	}
	return entries[match].Name, entries[match].Role, true
}

// Len is the number of entries loaded.
func (s *Store) Len() int {
	if s == nil {
		return 0
	}
	if p := s.entries.Load(); p != nil {
		return len(*p)
	}
	return 0
}

// readTokensFile reads and parses the file at path, reading at most one
// byte past MaxFileSize so that an oversized file is refused without being
// read whole.
func readTokensFile(path string) ([]Entry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open tokens file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read tokens file %s: %w", path, err)
	}
	entries, err := ParseTokensFile(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return entries, nil
}
