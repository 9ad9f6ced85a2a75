package vclock

import (
	"errors"
	"strings"
	"testing"
)

// A context is bound to the key it was issued for: counters are per key,
// so {a:1} read from one key would otherwise supersede another key's
// first version a:1 without the client ever having seen it.
func TestTokenIsBoundToItsKey(t *testing.T) {
	c := Context{}.Add(Dot{Actor: "n1.00aa", Counter: 1})
	tok := c.TokenFor([]byte("a"))
	if got, err := ParseTokenFor(tok, []byte("a")); err != nil || !got.Equal(c) {
		t.Fatalf("own key: %v, %v", got, err)
	}
	if _, err := ParseTokenFor(tok, []byte("b")); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("other key: %v, want ErrWrongKey", err)
	}
	if got, err := ParseToken(tok); err != nil || !got.Equal(c) {
		t.Fatalf("ParseToken of a bound token: %v, %v", got, err)
	}
	// Tokens issued before binding carry no key and are still accepted.
	if got, err := ParseTokenFor(c.Token(), []byte("b")); err != nil || !got.Equal(c) {
		t.Fatalf("unbound v1 token: %v, %v", got, err)
	}
	if (Context{}).TokenFor([]byte("a")) != "" {
		t.Fatal("the empty context has a token")
	}
	if _, err := ParseTokenFor(tok[:4], []byte("a")); !errors.Is(err, ErrMalformed) {
		t.Fatalf("truncated token: %v", err)
	}
	if strings.HasPrefix(tok, "AQ") {
		t.Fatalf("bound token %q looks like a v1 token", tok)
	}
}

func TestHighest(t *testing.T) {
	c := Context{}.Add(Dot{"a", 3}).Add(Dot{"b", 9}).Add(Dot{"a", 12})
	if got := c.Highest(); got != (Dot{"a", 12}) {
		t.Fatalf("Highest = %v", got)
	}
	if got := (Context{}).Highest(); got != (Dot{}) {
		t.Fatalf("Highest of the empty context = %v", got)
	}
}
