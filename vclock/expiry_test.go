package vclock

import (
	"errors"
	"testing"
)

func TestExpiredSiblingsAreNotLive(t *testing.T) {
	var s Set
	s, _ = s.Write("a", Context{}, Sibling{Value: []byte("brief"), Modified: 1000, Expires: 3000})
	s, _ = s.Write("b", Context{}, Sibling{Value: []byte("lasting"), Modified: 1000})
	for now, want := range map[int64]int{0: 2, 2999: 2, 3000: 1, 1 << 50: 1} {
		if got := len(s.Live(now)); got != want {
			t.Errorf("Live(%d) = %d siblings, want %d", now, got, want)
		}
	}
}

// Dropping an expired sibling keeps its dot in the context, so a replica
// that still holds it drops it at the next merge instead of bringing it
// back, in either merge order.
func TestWithoutExpiredMergesAway(t *testing.T) {
	var s Set
	s, _ = s.Write("a", Context{}, Sibling{Value: []byte("brief"), Expires: 3000})
	s, _ = s.Write("b", Context{}, Sibling{Value: []byte("lasting")})
	if got := s.WithoutExpired(2999); !got.Equal(s) {
		t.Fatalf("dropped a sibling before expiry: %v", got)
	}
	trimmed := s.WithoutExpired(3000)
	if len(trimmed.Siblings) != 1 || string(trimmed.Siblings[0].Value) != "lasting" || !trimmed.Context.Contains(s.Siblings[0].Dot) {
		t.Fatalf("WithoutExpired(3000) = %v", trimmed)
	}
	if m := s.Merge(trimmed); !m.Equal(trimmed) {
		t.Fatalf("stale ∪ trimmed = %v", m)
	}
	if m := trimmed.Merge(s); !m.Equal(trimmed) {
		t.Fatalf("trimmed ∪ stale = %v", m)
	}
}

func TestExpiryEncoding(t *testing.T) {
	var s Set
	s, _ = s.Write("a", Context{}, Sibling{Value: []byte("v"), Modified: 1700000000000, Expires: 1700000002000})
	s, _ = s.Write("b", Context{}, Sibling{Value: []byte("w"), Modified: 1700000000000})
	enc := s.Encode()
	if len(enc) != s.EncodedLen() {
		t.Fatalf("EncodedLen %d, encoding %d bytes", s.EncodedLen(), len(enc))
	}
	got, err := DecodeSet(enc)
	if err != nil || !got.Equal(s) || got.Siblings[0].Expires != 1700000002000 || got.Siblings[1].Expires != 0 {
		t.Fatalf("round trip: %v %v", got, err)
	}
	// The expiry flag with an expiry of zero is not an encoding Encode
	// makes: refuse it rather than read it as "never".
	var one Set
	one, _ = one.Write("a", Context{}, Sibling{Value: []byte("v")})
	b := one.Encode()
	flagAt := len(b) - 1 /* value */ - 1 /* len */ - 1 /* ct len */ - 1 /* modified */ - 1
	b[flagAt] |= flagExpires
	b = append(b[:flagAt+2], append([]byte{0}, b[flagAt+2:]...)...)
	if _, err := DecodeSet(b); !errors.Is(err, ErrMalformed) {
		t.Fatalf("expiry flag with zero expiry: %v", err)
	}
}
