package merkle

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// Wire formats. Integers are unsigned varints (minimal: a value has exactly
// one encoding) unless noted; hashes are 8 bytes little-endian.
//
//	hashes  = format(byte 0x01) count { hash }
//	entries = format(byte 0x02) count { len(key) key hash }
//
// Entries are in strictly ascending key order (bytes.Compare), each key
// 1..MaxKeyLen bytes. A decoder accepts exactly what the encoder produces:
// no trailing bytes, no padded varints, no unknown format byte. The format
// byte names both the kind and the version, so a hashes message decoded as
// entries (or a future version decoded by this one) fails cleanly; a new
// version takes a new byte.
const (
	formatHashesV1  byte = 0x01
	formatEntriesV1 byte = 0x02

	// MaxKeyLen is the longest key an entry list may carry, in bytes: the
	// longest key dynkv accepts.
	MaxKeyLen = 1024

	hashLen = 8
	// minEntryLen is the smallest encoded entry: a 1-byte length, a 1-byte
	// key and a hash. It bounds the count a message can claim.
	minEntryLen = 1 + 1 + hashLen
)

// ErrMalformed is wrapped by every decoding error.
var ErrMalformed = errors.New("merkle: malformed encoding")

// ErrInvalidEntries is wrapped by the errors AppendEntries returns for a
// list it cannot encode.
var ErrInvalidEntries = errors.New("merkle: invalid entries")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// AppendHashes appends the encoding of hashes to dst.
func AppendHashes(dst []byte, hashes []uint64) []byte {
	dst = append(dst, formatHashesV1)
	dst = binary.AppendUvarint(dst, uint64(len(hashes)))
	for _, h := range hashes {
		dst = binary.LittleEndian.AppendUint64(dst, h)
	}
	return dst
}

// DecodeHashes parses hashes encoded by AppendHashes, which must span all
// of b. It allocates at most len(b) bytes of hashes.
func DecodeHashes(b []byte) ([]uint64, error) {
	b, err := header(b, formatHashesV1)
	if err != nil {
		return nil, err
	}
	n, b, err := count(b, hashLen)
	if err != nil {
		return nil, err
	}
	if len(b) != n*hashLen {
		return nil, malformed("%d hashes need %d bytes, have %d", n, n*hashLen, len(b))
	}
	hs := make([]uint64, n)
	for i := range hs {
		hs[i] = binary.LittleEndian.Uint64(b[i*hashLen:])
	}
	return hs, nil
}

// AppendEntries appends the encoding of entries to dst. It fails, returning
// dst unchanged, if a key is empty or longer than MaxKeyLen or the keys are
// not strictly ascending: the receiver would reject such a list.
func AppendEntries(dst []byte, entries []Entry) ([]byte, error) {
	for i, e := range entries {
		if len(e.Key) == 0 || len(e.Key) > MaxKeyLen {
			return dst, fmt.Errorf("%w: entry %d has a key of %d bytes, want 1..%d", ErrInvalidEntries, i, len(e.Key), MaxKeyLen)
		}
		if i > 0 && bytes.Compare(entries[i-1].Key, e.Key) >= 0 {
			return dst, fmt.Errorf("%w: entry %d: keys are not strictly ascending", ErrInvalidEntries, i)
		}
	}
	dst = append(dst, formatEntriesV1)
	dst = binary.AppendUvarint(dst, uint64(len(entries)))
	for _, e := range entries {
		dst = binary.AppendUvarint(dst, uint64(len(e.Key)))
		dst = append(dst, e.Key...)
		dst = binary.LittleEndian.AppendUint64(dst, e.Hash)
	}
	return dst, nil
}

// DecodeEntries parses entries encoded by AppendEntries, which must span
// all of b. The keys are copied (into one allocation), so b may be reused
// as soon as DecodeEntries returns, as fasthttp does with request bodies.
func DecodeEntries(b []byte) ([]Entry, error) {
	b, err := header(b, formatEntriesV1)
	if err != nil {
		return nil, err
	}
	n, b, err := count(b, minEntryLen)
	if err != nil {
		return nil, err
	}
	es := make([]Entry, n)
	total := 0
	for i := range es {
		kl, m := binary.Uvarint(b)
		if err := checkUvarint(b, m); err != nil {
			return nil, fmt.Errorf("entry %d: key length: %w", i, err)
		}
		b = b[m:]
		if kl == 0 || kl > MaxKeyLen {
			return nil, malformed("entry %d has a key of %d bytes, want 1..%d", i, kl, MaxKeyLen)
		}
		if uint64(len(b)) < kl+hashLen {
			return nil, malformed("entry %d truncated", i)
		}
		key := b[:kl:kl]
		if i > 0 && bytes.Compare(es[i-1].Key, key) >= 0 {
			return nil, malformed("entry %d: keys are not strictly ascending", i)
		}
		es[i] = Entry{Key: key, Hash: binary.LittleEndian.Uint64(b[kl:])}
		b = b[kl+hashLen:]
		total += int(kl)
	}
	if len(b) != 0 {
		return nil, malformed("%d trailing bytes", len(b))
	}
	keys := make([]byte, 0, total)
	for i := range es {
		start := len(keys)
		keys = append(keys, es[i].Key...)
		es[i].Key = keys[start:len(keys):len(keys)]
	}
	return es, nil
}

// header checks and strips the format byte.
func header(b []byte, format byte) ([]byte, error) {
	if len(b) == 0 {
		return nil, malformed("empty message")
	}
	if b[0] != format {
		return nil, malformed("format byte %#x, want %#x", b[0], format)
	}
	return b[1:], nil
}

// count reads an element count and checks that the rest of b can hold that
// many elements of at least minLen bytes, so no count can make a decoder
// allocate more than the message's size.
func count(b []byte, minLen int) (int, []byte, error) {
	n, m := binary.Uvarint(b)
	if err := checkUvarint(b, m); err != nil {
		return 0, nil, fmt.Errorf("count: %w", err)
	}
	b = b[m:]
	if n > uint64(len(b)/minLen) {
		return 0, nil, malformed("count %d exceeds what %d bytes can hold", n, len(b))
	}
	return int(n), b, nil
}

// checkUvarint validates binary.Uvarint's length result m for b.
func checkUvarint(b []byte, m int) error {
	if m <= 0 {
		return malformed("bad or truncated varint")
	}
	// A trailing zero byte pads the number: reject it so that every
	// message has exactly one encoding.
	if m > 1 && b[m-1] == 0 {
		return malformed("non-minimal varint")
	}
	return nil
}
