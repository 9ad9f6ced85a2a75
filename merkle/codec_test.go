package merkle

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestCodecGolden(t *testing.T) {
	if got := hex.EncodeToString(AppendHashes(nil, []uint64{1, 0xff00000000000000})); got != "0102"+"0100000000000000"+"00000000000000ff" {
		t.Errorf("AppendHashes = %s", got)
	}
	b, err := AppendEntries(nil, []Entry{{Key: []byte("ab"), Hash: 0x0102030405060708}})
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(b); got != "0201"+"02"+"6162"+"0807060504030201" {
		t.Errorf("AppendEntries = %s", got)
	}
}

func TestCodecRoundTrip(t *testing.T) {
	for _, seed := range seeds(t) {
		rng := rand.New(rand.NewPCG(seed, 8))
		hs := make([]uint64, rng.IntN(300))
		for i := range hs {
			hs[i] = rng.Uint64()
		}
		prefix := []byte("prefix")
		enc := AppendHashes(slices.Clone(prefix), hs)
		if !bytes.HasPrefix(enc, prefix) {
			t.Fatal("AppendHashes clobbered dst")
		}
		got, err := DecodeHashes(enc[len(prefix):])
		if err != nil || !slices.Equal(got, hs) {
			t.Fatalf("seed %d: hashes round trip: got %d hashes, want %d, err %v", seed, len(got), len(hs), err)
		}

		es := randEntries(rng, 50, 100)
		for i := range es {
			es[i].Hash = rng.Uint64()
		}
		if rng.IntN(5) == 0 && len(es) > 0 { // a maximal key, sorted last
			es[len(es)-1].Key = []byte(strings.Repeat("\xff", MaxKeyLen))
		}
		enc, err = AppendEntries(nil, es)
		if err != nil {
			t.Fatal(err)
		}
		ge, err := DecodeEntries(enc)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if !slices.EqualFunc(ge, es, func(x, y Entry) bool { return bytes.Equal(x.Key, y.Key) && x.Hash == y.Hash }) {
			t.Fatalf("seed %d: entries round trip differs", seed)
		}
	}
}

func TestDecodeEntriesCopiesKeys(t *testing.T) {
	enc, _ := AppendEntries(nil, []Entry{{Key: []byte("a")}, {Key: []byte("b")}})
	es, err := DecodeEntries(enc)
	if err != nil {
		t.Fatal(err)
	}
	clear(enc)
	if string(es[0].Key) != "a" || string(es[1].Key) != "b" {
		t.Fatalf("keys alias the input: %q %q", es[0].Key, es[1].Key)
	}
	es[0].Key = append(es[0].Key, 'x') // must not overwrite the next key
	if string(es[1].Key) != "b" {
		t.Fatalf("appending to one key changed the next: %q", es[1].Key)
	}
}

func TestAppendEntriesRejects(t *testing.T) {
	long := bytes.Repeat([]byte("k"), MaxKeyLen+1)
	for name, es := range map[string][]Entry{
		"empty key": {{Key: nil}},
		"long key":  {{Key: long}},
		"unsorted":  {{Key: []byte("b")}, {Key: []byte("a")}},
		"duplicate": {{Key: []byte("a")}, {Key: []byte("a")}},
	} {
		dst := []byte("x")
		got, err := AppendEntries(dst, es)
		if !errors.Is(err, ErrInvalidEntries) || string(got) != "x" {
			t.Errorf("%s: %q, %v", name, got, err)
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	h := func(s string) []byte {
		b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for name, b := range map[string][]byte{
		"empty":            nil,
		"entries format":   h("02 00"),
		"unknown format":   h("03 00"),
		"no count":         h("01"),
		"padded count":     h("01 80 00"),
		"overlong count":   h("01 ffffffffffffffffff01"),
		"count too large":  h("01 02 0000000000000000"),
		"huge count":       h("01 ffffffffffffffff7f"),
		"short hash":       h("01 01 00000000000000"),
		"trailing":         h("01 00 00"),
		"trailing partial": h("01 01 0000000000000000 00"),
	} {
		if _, err := DecodeHashes(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("DecodeHashes %s: %v", name, err)
		}
	}
	for name, b := range map[string][]byte{
		"empty":           nil,
		"hashes format":   h("01 00"),
		"no count":        h("02"),
		"padded count":    h("02 80 00"),
		"count too large": h("02 02 01 61 0000000000000000"),
		"empty key":       h("02 01 00 0000000000000000 00"),
		"long key":        h("02 01 8108" + strings.Repeat("61", 1025) + "0000000000000000"),
		"padded key len":  h("02 01 8100 61 0000000000000000"),
		"truncated hash":  h("02 01 01 61 00000000000000 0000"),
		"truncated key":   h("02 01 09 61 0000000000000000"),
		"unsorted":        h("02 02 01 62 0000000000000000 01 61 0000000000000000"),
		"duplicate":       h("02 02 01 61 0000000000000000 01 61 0000000000000000"),
		"trailing":        h("02 01 01 61 0000000000000000 00"),
	} {
		if _, err := DecodeEntries(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("DecodeEntries %s: %v", name, err)
		}
	}
	// The boundary cases decode.
	if es, err := DecodeEntries(h("02 01 8008" + strings.Repeat("61", 1024) + "0000000000000000")); err != nil || len(es[0].Key) != 1024 {
		t.Errorf("1024-byte key: %v", err)
	}
	if hs, err := DecodeHashes(h("01 00")); err != nil || len(hs) != 0 {
		t.Errorf("no hashes: %v, %v", hs, err)
	}
	if es, err := DecodeEntries(h("02 00")); err != nil || len(es) != 0 {
		t.Errorf("no entries: %v, %v", es, err)
	}
}
