package vclock

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
)

// Tokens are what clients see of a context: opaque, URL- and header-safe.
// The leading version byte lets the format change without breaking clients
// that hold old tokens.
//
//	v1 = 1 context              (unbound; still accepted, no longer issued)
//	v2 = 2 keyHash(4 bytes) context
//
// Counters are per key, so a context read from one key says nothing true
// about another: used there, it would supersede whatever happens to carry
// the same dots. A v2 token carries a short hash of the key it was issued
// for, so such a mistake is caught. The hash catches mistakes, not attacks:
// anyone can compute it, and 32 bits let one mistake in 2^32 through.
const (
	tokenFormatV1 = 1
	tokenFormatV2 = 2
	keyHashLen    = 4
)

// MaxTokenLen bounds a token accepted from a client (base64 characters).
const MaxTokenLen = 64 << 10

// ErrWrongKey is wrapped by ParseTokenFor's error for a token issued for
// another key.
var ErrWrongKey = errors.New("causal context was issued for another key")

// keyHash is the key's fingerprint in a v2 token: FNV-1a, 32 bits.
func keyHash(key []byte) uint32 {
	h := fnv.New32a()
	h.Write(key)
	return h.Sum32()
}

// Token returns the unbound (v1) client form of the context; "" for the
// empty one. Servers issue TokenFor instead.
func (c Context) Token() string {
	if c.IsZero() {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(c.AppendBinary([]byte{tokenFormatV1}))
}

// TokenFor returns the client form of the context bound to key (v2): "" for
// the empty context, which claims nothing and needs no binding.
func (c Context) TokenFor(key []byte) string {
	if c.IsZero() {
		return ""
	}
	b := make([]byte, 0, 1+keyHashLen+c.EncodedLen())
	b = append(b, tokenFormatV2)
	b = binary.BigEndian.AppendUint32(b, keyHash(key))
	return base64.RawURLEncoding.EncodeToString(c.AppendBinary(b))
}

// ParseToken parses a token of either version without checking which key
// it was issued for. "" is the empty context. Padding is tolerated because
// clients may re-encode tokens.
func ParseToken(token string) (Context, error) {
	raw, err := decodeToken(token)
	if err != nil || raw == nil {
		return Context{}, err
	}
	body, _, err := tokenBody(raw)
	if err != nil {
		return Context{}, err
	}
	return DecodeContext(body)
}

// ParseTokenFor parses a token to be used with key. A v2 token issued for
// another key is refused with an error wrapping ErrWrongKey; a v1 token
// carries no key and is accepted as it always was.
func ParseTokenFor(token string, key []byte) (Context, error) {
	raw, err := decodeToken(token)
	if err != nil || raw == nil {
		return Context{}, err
	}
	body, hash, err := tokenBody(raw)
	if err != nil {
		return Context{}, err
	}
	c, err := DecodeContext(body)
	if err != nil {
		return Context{}, err
	}
	if raw[0] == tokenFormatV2 && hash != keyHash(key) {
		return Context{}, fmt.Errorf("%w (key hash %08x, this key's %08x)", ErrWrongKey, hash, keyHash(key))
	}
	return c, nil
}

// decodeToken returns a token's bytes, nil for "".
func decodeToken(token string) ([]byte, error) {
	if token == "" {
		return nil, nil
	}
	if len(token) > MaxTokenLen {
		return nil, malformed("token of %d bytes exceeds %d", len(token), MaxTokenLen)
	}
	raw, err := base64.RawURLEncoding.DecodeString(trimPadding(token))
	if err != nil {
		return nil, fmt.Errorf("%w: token is not base64url: %v", ErrMalformed, err)
	}
	if len(raw) == 0 {
		return nil, malformed("empty token")
	}
	return raw, nil
}

// tokenBody splits a token's bytes into the encoded context and, for v2,
// the key hash.
func tokenBody(raw []byte) (body []byte, hash uint32, err error) {
	switch raw[0] {
	case tokenFormatV1:
		return raw[1:], 0, nil
	case tokenFormatV2:
		if len(raw) < 1+keyHashLen {
			return nil, 0, malformed("token truncated in its key hash")
		}
		return raw[1+keyHashLen:], binary.BigEndian.Uint32(raw[1:]), nil
	}
	return nil, 0, malformed("unknown token version")
}

func trimPadding(s string) string {
	for len(s) > 0 && s[len(s)-1] == '=' {
		s = s[:len(s)-1]
	}
	return s
}
