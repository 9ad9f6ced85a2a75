package merkle

import (
	"bytes"
	"testing"
)

func FuzzDecodeHashes(f *testing.F) {
	f.Add([]byte{})
	f.Add(AppendHashes(nil, nil))
	f.Add(AppendHashes(nil, []uint64{0, 1, 1 << 63}))
	f.Add([]byte{formatHashesV1, 0x80, 0x00})
	f.Add([]byte{formatHashesV1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		hs, err := DecodeHashes(b)
		if err != nil {
			return
		}
		if len(hs)*hashLen > len(b) {
			t.Fatalf("%d hashes from %d bytes", len(hs), len(b))
		}
		if re := AppendHashes(nil, hs); !bytes.Equal(re, b) {
			t.Fatalf("re-encoding differs:\n in %x\nout %x", b, re)
		}
	})
}

func FuzzDecodeEntries(f *testing.F) {
	f.Add([]byte{})
	enc, _ := AppendEntries(nil, nil)
	f.Add(enc)
	enc, _ = AppendEntries(nil, []Entry{{Key: []byte("a"), Hash: 1}, {Key: []byte("ab"), Hash: 2}, {Key: []byte("b")}})
	f.Add(enc)
	enc, _ = AppendEntries(nil, []Entry{{Key: bytes.Repeat([]byte{0xff}, MaxKeyLen)}})
	f.Add(enc)
	f.Add([]byte{formatEntriesV1, 0x02, 0x01, 'b', 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 'a', 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		es, err := DecodeEntries(b)
		if err != nil {
			return
		}
		if len(es)*minEntryLen > len(b) {
			t.Fatalf("%d entries from %d bytes", len(es), len(b))
		}
		re, err := AppendEntries(nil, es)
		if err != nil {
			t.Fatalf("decoded entries do not re-encode: %v", err)
		}
		if !bytes.Equal(re, b) {
			t.Fatalf("re-encoding differs:\n in %x\nout %x", b, re)
		}
		// DiffEntries of a decoded list against itself is empty.
		if om, ot, d := DiffEntries(es, es); len(om)+len(ot)+len(d) != 0 {
			t.Fatal("self diff not empty")
		}
	})
}
