package vclock

import (
	"encoding/base64"
	"fmt"
)

// Tokens are what clients see of a context: opaque, URL- and header-safe.
// The leading version byte lets the format change without breaking clients
// that hold old tokens.
const tokenFormatV1 = 1

// MaxTokenLen bounds a token accepted from a client (base64 characters).
const MaxTokenLen = 64 << 10

// Token returns the opaque client form of the context; "" for the empty one.
func (c Context) Token() string {
	if c.IsZero() {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(c.AppendBinary([]byte{tokenFormatV1}))
}

// ParseToken parses a token made by Context.Token. "" is the empty context.
// Padding is tolerated because clients may re-encode tokens.
func ParseToken(token string) (Context, error) {
	if token == "" {
		return Context{}, nil
	}
	if len(token) > MaxTokenLen {
		return Context{}, malformed("token of %d bytes exceeds %d", len(token), MaxTokenLen)
	}
	raw, err := base64.RawURLEncoding.DecodeString(trimPadding(token))
	if err != nil {
		return Context{}, fmt.Errorf("%w: token is not base64url: %v", ErrMalformed, err)
	}
	if len(raw) == 0 || raw[0] != tokenFormatV1 {
		return Context{}, malformed("unknown token version")
	}
	return DecodeContext(raw[1:])
}

func trimPadding(s string) string {
	for len(s) > 0 && s[len(s)-1] == '=' {
		s = s[:len(s)-1]
	}
	return s
}
