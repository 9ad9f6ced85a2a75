package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
)

// TokenPrefix starts every token, so a leaked one is easy to recognise
// (secret scanners, logs) and a name can be told from a token.
const TokenPrefix = "dkv_"

// tokenBytes is the token's entropy: 256 bits.
const tokenBytes = 32

// tokenLen is the length of a token: the prefix and 32 bytes in unpadded
// base64.
var tokenLen = len(TokenPrefix) + base64.RawURLEncoding.EncodedLen(tokenBytes)

// NewToken returns a new random token.
func NewToken() (string, error) {
	var b [tokenBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("new token: reading random bytes: %w", err)
	}
	return TokenPrefix + base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// HashToken is the SHA-256 of the token: all the tokens file keeps of it.
func HashToken(token string) [32]byte {
	return sha256.Sum256([]byte(token))
}

// wellFormed reports whether s has a token's shape. It says nothing secret
// (the shape is public), and lets Check refuse garbage without hashing it.
func wellFormed(s string) bool {
	rest, ok := strings.CutPrefix(s, TokenPrefix)
	if !ok || len(s) != tokenLen {
		return false
	}
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
