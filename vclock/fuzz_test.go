package vclock

import (
	"bytes"
	"errors"
	"slices"
	"testing"
)

func seedSets() [][]byte {
	var s Set
	s, _ = s.Write("n1.00aa", Context{}, Sibling{Value: []byte("x"), ContentType: "text/plain", Modified: 1700000000000, Expires: 1700000060000})
	s, _ = s.Write("n2.00bb", Context{}, Sibling{Deleted: true})
	s2 := s
	s2.Context = s2.Context.Add(Dot{"n3.00cc", 9})
	return [][]byte{s.Encode(), s2.Encode(), (Set{}).Encode(), {1}, {1, 1, 1, 'a', 0, 0, 0}}
}

// FuzzDecodeSet: decoding never panics, and whatever decodes re-encodes to
// the same bytes (the format is canonical) and satisfies the invariants.
func FuzzDecodeSet(f *testing.F) {
	for _, b := range seedSets() {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := DecodeSet(b)
		if err != nil {
			return
		}
		if !bytes.Equal(s.Encode(), b) {
			t.Fatalf("not canonical: %x re-encodes to %x", b, s.Encode())
		}
		if s.EncodedLen() != len(b) || s.Context.EncodedLen() != len(s.Context.AppendBinary(nil)) {
			t.Fatalf("EncodedLen %d (context %d) for an encoding of %d bytes", s.EncodedLen(), s.Context.EncodedLen(), len(b))
		}
		for _, sib := range s.Siblings {
			if !s.Context.Contains(sib.Dot) {
				t.Fatalf("sibling %v outside context", sib.Dot)
			}
		}
		_ = s.Merge(s)
	})
}

// FuzzParseToken: parsing never panics; a token that parses round trips
// through both versions; a v2 token is accepted for its own key only (short
// of a hash collision), and ParseToken accepts whatever ParseTokenFor does.
func FuzzParseToken(f *testing.F) {
	key := []byte("k")
	for _, b := range seedSets() {
		if s, err := DecodeSet(b); err == nil {
			f.Add(s.Context.Token(), key)
			f.Add(s.Context.TokenFor(key), key)
			f.Add(s.Context.TokenFor(key), []byte("other"))
		}
	}
	f.Add("", key)
	f.Add("AQ", key)
	f.Add("Ag", key)
	f.Add("AgAAAAAA", []byte{})
	f.Add("!!!", key)
	f.Fuzz(func(t *testing.T, tok string, key []byte) {
		unbound, uerr := ParseToken(tok)
		c, err := ParseTokenFor(tok, key)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrWrongKey) {
				t.Fatalf("token %q: error %v wraps neither ErrMalformed nor ErrWrongKey", tok, err)
			}
			if errors.Is(err, ErrWrongKey) && uerr != nil {
				t.Fatalf("token %q: wrong key for ParseTokenFor but unparsable for ParseToken: %v", tok, uerr)
			}
			return
		}
		if uerr != nil || !unbound.Equal(c) {
			t.Fatalf("token %q: ParseTokenFor gives %v, ParseToken %v, %v", tok, c, unbound, uerr)
		}
		for _, back := range []string{c.Token(), c.TokenFor(key)} {
			got, err := ParseTokenFor(back, key)
			if err != nil || !got.Equal(c) {
				t.Fatalf("token %q does not round trip as %q: %v", tok, back, err)
			}
		}
		other := append(slices.Clone(key), 'x')
		if _, err := ParseTokenFor(c.TokenFor(key), other); !c.IsZero() && keyHash(other) != keyHash(key) && !errors.Is(err, ErrWrongKey) {
			t.Fatalf("token for %q accepted for %q: %v", key, other, err)
		}
		_ = c.Merge(c).Covers(c)
	})
}
