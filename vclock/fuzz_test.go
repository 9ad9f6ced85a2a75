package vclock

import (
	"bytes"
	"testing"
)

func seedSets() [][]byte {
	var s Set
	s, _ = s.Write("n1.00aa", Context{}, Sibling{Value: []byte("x"), ContentType: "text/plain", Modified: 1700000000000})
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

func FuzzParseToken(f *testing.F) {
	for _, b := range seedSets() {
		if s, err := DecodeSet(b); err == nil {
			f.Add(s.Context.Token())
		}
	}
	f.Add("")
	f.Add("AQ")
	f.Add("!!!")
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := ParseToken(tok)
		if err != nil {
			return
		}
		back, err := ParseToken(c.Token())
		if err != nil || !back.Equal(c) {
			t.Fatalf("token %q does not round trip: %v", tok, err)
		}
		_ = c.Merge(c).Covers(c)
	})
}
