package store

import (
	"bytes"
	"testing"
	"time"
)

// Value-log GC must reclaim overwritten values and keep every live one.
// Badger learns that a value is garbage only when a compaction drops the old
// version of its key, so the test overwrites enough to fill several
// memtables (forcing L0 compactions) and retries GC until the value log
// shrinks or a generous deadline passes.
func TestValueLogGC(t *testing.T) {
	const keys, rounds, size = 2000, 20, 128
	s := openTest(t, Options{
		MemTableSize: 1 << 20, ValueLogFileSize: 1 << 20, ValueThreshold: size / 2, GCInterval: -1,
	})
	value := func(round, i int) []byte {
		return bytes.Repeat([]byte{byte(round), byte(i)}, size/2)
	}
	for round := range rounds {
		for i := range keys {
			v := value(round, i)
			if err := s.Update(uint16(i%16), benchKey(i), func([]byte, bool) ([]byte, error) { return v, nil }); err != nil {
				t.Fatal(err)
			}
		}
	}
	_, before := s.Size()
	after := before
	start := time.Now()
	for deadline := start.Add(20 * time.Second); after > before/2 && time.Now().Before(deadline); {
		s.runGC()
		if _, after = s.Size(); after > before/2 {
			time.Sleep(50 * time.Millisecond)
		}
	}
	t.Logf("value log %d kB before GC, %d kB after %v; live values %d kB",
		before>>10, after>>10, time.Since(start).Round(time.Millisecond), keys*size>>10)
	if after > before/2 {
		t.Errorf("GC left %d of %d bytes", after, before)
	}
	for i := range keys {
		got, err := s.Get(uint16(i%16), benchKey(i))
		if err != nil || !bytes.Equal(got, value(rounds-1, i)) {
			t.Fatalf("key %d after GC: %d bytes, err %v", i, len(got), err)
		}
	}
}
