package loadtest

import (
	"context"
	"encoding/binary"
	"slices"
	"sync"
)

// memStore is a deliberately simple causal store for tests: each key holds
// siblings tagged with versions; a token lists versions, and a write
// replaces exactly the siblings its token lists (what a Dynamo store does,
// without the replication).
type memStore struct {
	mu   sync.Mutex
	keys map[string][]memSibling
	ver  uint64
	// drop, when set, makes writes to matching keys acknowledged but not
	// stored: a store that loses acknowledged writes.
	drop func(key string) bool
	// failWrites, when set, refuses writes to matching keys with kind.
	failWrites func(key string) string
	writes     int
}

type memSibling struct {
	ver   uint64
	value []byte
}

func newMemStore() *memStore { return &memStore{keys: map[string][]memSibling{}} }

func (s *memStore) Name() string                    { return "mem" }
func (s *memStore) Causal() bool                    { return true }
func (s *memStore) Check(ctx context.Context) error { return nil }
func (s *memStore) Close() error                    { return nil }
func (s *memStore) NewClient(i int) (Client, error) {
	return &memClient{s: s}, nil
}

// siblings returns how many versions key holds.
func (s *memStore) siblings(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.keys[key])
}

func (s *memStore) wipe(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.keys, key)
}

type memClient struct{ s *memStore }

func appendVersion(tok []byte, v uint64) []byte { return binary.BigEndian.AppendUint64(tok, v) }

func tokenVersions(tok []byte) []uint64 {
	var vs []uint64
	for ; len(tok) >= 8; tok = tok[8:] {
		vs = append(vs, binary.BigEndian.Uint64(tok))
	}
	return vs
}

func (c *memClient) Read(ctx context.Context, key []byte, res *ReadResult) error {
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	res.Found, res.Values, res.Token = false, res.Values[:0], res.Token[:0]
	for _, sib := range s.keys[string(key)] {
		res.Found = true
		res.Values = append(res.Values, sib.value)
		res.Token = appendVersion(res.Token, sib.ver)
	}
	return nil
}

func (c *memClient) Write(ctx context.Context, key, value, token []byte, res *WriteResult) error {
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	k := string(key)
	if s.failWrites != nil {
		if kind := s.failWrites(k); kind != "" {
			return &OpError{Kind: kind, Err: errFake}
		}
	}
	s.writes++
	s.ver++
	res.Token = appendVersion(append(res.Token[:0], token...), s.ver)
	if s.drop != nil && s.drop(k) {
		return nil
	}
	seen := tokenVersions(token)
	sibs := slices.DeleteFunc(s.keys[k], func(sib memSibling) bool { return slices.Contains(seen, sib.ver) })
	s.keys[k] = append(sibs, memSibling{ver: s.ver, value: slices.Clone(value)})
	return nil
}

func (c *memClient) Close() error { return nil }

type fakeError string

func (e fakeError) Error() string { return string(e) }

const errFake = fakeError("refused by the fake store")
