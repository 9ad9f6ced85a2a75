package loadtest

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
)

// contextCache is what the clients last saw of each key: the store's causal
// token and, when verifying, the ids of the writes that token observed. All
// workers share it, as clients of one application would share a session
// cache. Steady state allocates nothing: entries are reused in place.
type contextCache struct {
	stripes [256]cacheStripe
}

type cacheStripe struct {
	mu sync.Mutex
	m  map[uint32]*cacheEntry
	_  [40]byte // keep neighbouring stripes off one cache line
}

type cacheEntry struct {
	token []byte
	ids   []uint64
}

func newContextCache() *contextCache {
	c := &contextCache{}
	for i := range c.stripes {
		c.stripes[i].m = map[uint32]*cacheEntry{}
	}
	return c
}

// load appends key's token and ids to the given buffers; found is false
// when nothing was ever stored for key.
func (c *contextCache) load(key uint32, token []byte, ids []uint64) (_ []byte, _ []uint64, found bool) {
	s := &c.stripes[key%uint32(len(c.stripes))]
	s.mu.Lock()
	e := s.m[key]
	if e != nil {
		token = append(token, e.token...)
		ids = append(ids, e.ids...)
	}
	s.mu.Unlock()
	return token, ids, e != nil
}

// store replaces key's entry.
func (c *contextCache) store(key uint32, token []byte, ids []uint64) {
	s := &c.stripes[key%uint32(len(c.stripes))]
	s.mu.Lock()
	e := s.m[key]
	if e == nil {
		e = &cacheEntry{}
		s.m[key] = e
	}
	e.token = append(e.token[:0], token...)
	e.ids = append(e.ids[:0], ids...)
	s.mu.Unlock()
}

// contextsMagic starts a saved context file; the version is its last byte.
const contextsMagic = "dynkv-loadtest-contexts\x01"

// SaveContexts writes the causal context the run last saw for each key, so
// that a later run over the same keys (LoadContexts) continues like the
// same long-lived client instead of reading every key before its first
// update. Write ids are not saved: they belong to this run.
func (g *Generator) SaveContexts(w io.Writer) error {
	bw := bufio.NewWriter(w)
	bw.WriteString(contextsMagic)
	var buf []byte
	buf = binary.AppendUvarint(buf, uint64(len(g.cfg.KeyPrefix)))
	buf = append(buf, g.cfg.KeyPrefix...)
	bw.Write(buf)
	for i := range g.cache.stripes {
		s := &g.cache.stripes[i]
		s.mu.Lock()
		for k, e := range s.m {
			if len(e.token) == 0 {
				continue
			}
			buf = binary.AppendUvarint(buf[:0], uint64(k))
			buf = binary.AppendUvarint(buf, uint64(len(e.token)))
			buf = append(buf, e.token...)
			bw.Write(buf)
		}
		s.mu.Unlock()
	}
	return bw.Flush()
}

// LoadContexts reads what SaveContexts wrote, before Run. It refuses a file
// saved for another key prefix; keys beyond this run's key count are
// skipped.
func (g *Generator) LoadContexts(r io.Reader) (int, error) {
	br := bufio.NewReader(r)
	magic := make([]byte, len(contextsMagic))
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != contextsMagic {
		return 0, errors.New("not a loadtest contexts file")
	}
	readBytes := func() ([]byte, error) {
		n, err := binary.ReadUvarint(br)
		if err != nil || n > 1<<20 {
			return nil, fmt.Errorf("corrupt contexts file: %v", err)
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(br, b); err != nil {
			return nil, fmt.Errorf("corrupt contexts file: %w", err)
		}
		return b, nil
	}
	prefix, err := readBytes()
	if err != nil {
		return 0, err
	}
	if string(prefix) != g.cfg.KeyPrefix {
		return 0, fmt.Errorf("the contexts file is for key prefix %q, not %q", prefix, g.cfg.KeyPrefix)
	}
	loaded := 0
	for {
		k, err := binary.ReadUvarint(br)
		if err == io.EOF {
			return loaded, nil
		}
		if err != nil {
			return loaded, fmt.Errorf("corrupt contexts file: %w", err)
		}
		token, err := readBytes()
		if err != nil {
			return loaded, err
		}
		if k < uint64(g.cfg.Keys) {
			g.cache.store(uint32(k), token, nil)
			loaded++
		}
	}
}
