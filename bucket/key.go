package bucket

import (
	"bytes"
	"errors"
	"fmt"
)

// Default is the bucket of /kv/{key}: its internal keys are the client's.
const Default = "default"

// MaxNameLen bounds a bucket name.
const MaxNameLen = 64

// MaxKeyLen bounds a client key (in any bucket).
const MaxKeyLen = 1024

// MaxInternalKeyLen bounds an internal key: a client key in a bucket with
// the longest name.
const MaxInternalKeyLen = MaxKeyLen + MaxNameLen + 2

// ErrBadName is wrapped by CheckName's errors.
var ErrBadName = errors.New("bucket: bad name")

// ErrBadKey is wrapped by CheckKey's errors.
var ErrBadKey = errors.New("bucket: bad key")

// CheckName accepts 1 to 64 characters of a-z, 0-9, '.', '_' and '-',
// starting with a letter or digit: safe in a URL path segment, a file name
// and a metric label without escaping.
func CheckName(name string) error {
	if len(name) == 0 || len(name) > MaxNameLen {
		return fmt.Errorf("%w: a bucket name is 1 to %d characters, got %d", ErrBadName, MaxNameLen, len(name))
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case (c == '.' || c == '_' || c == '-') && i > 0:
		default:
			return fmt.Errorf("%w: %q: use a-z, 0-9, '.', '_' and '-', starting with a letter or digit", ErrBadName, name)
		}
	}
	return nil
}

// CheckKey accepts a client key: 1 to MaxKeyLen bytes, not starting with
// NUL (which marks the internal keys of named buckets).
func CheckKey(key []byte) error {
	switch {
	case len(key) == 0 || len(key) > MaxKeyLen:
		return fmt.Errorf("%w: a key is 1 to %d bytes, got %d", ErrBadKey, MaxKeyLen, len(key))
	case key[0] == 0:
		return fmt.Errorf("%w: a key may not start with a NUL byte", ErrBadKey)
	}
	return nil
}

// Key returns the internal key of key in bucket. The caller has checked
// both (CheckName, CheckKey).
func Key(bucket string, key []byte) []byte {
	if bucket == Default {
		return key
	}
	b := make([]byte, 0, len(bucket)+2+len(key))
	b = append(b, 0)
	b = append(b, bucket...)
	b = append(b, 0)
	return append(b, key...)
}

// Prefix is what every internal key of bucket starts with: a partition
// scan from it lists the bucket's keys. The default bucket's prefix is
// empty, and its keys are those Split assigns to it.
func Prefix(bucket string) []byte {
	if bucket == Default {
		return nil
	}
	return Key(bucket, nil)
}

// Split returns the bucket and client key of an internal key; ok is false
// for bytes no Key call makes (a peer's or a file's damage). key aliases
// internal.
func Split(internal []byte) (bucket string, key []byte, ok bool) {
	if len(internal) == 0 {
		return "", nil, false
	}
	if internal[0] != 0 {
		return Default, internal, len(internal) <= MaxKeyLen
	}
	end := bytes.IndexByte(internal[1:], 0)
	if end < 0 {
		return "", nil, false
	}
	name, rest := string(internal[1:1+end]), internal[2+end:]
	if CheckName(name) != nil || name == Default || CheckKey(rest) != nil {
		return "", nil, false
	}
	return name, rest, true
}

// NameOf is Split's bucket alone: the default bucket for bytes Split
// refuses, so that a damaged key is judged by the defaults rather than
// not at all.
func NameOf(internal []byte) string {
	if len(internal) == 0 || internal[0] != 0 {
		return Default
	}
	name, _, ok := Split(internal)
	if !ok {
		return Default
	}
	return name
}
