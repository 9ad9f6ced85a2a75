package hinted

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// On-disk format. See "Layout" in doc.go.
//
//	key:   target length (uint16, big-endian) | target | user key
//	value: version (1 byte) | created-at (int64 unix ms, big-endian) | value
//
// The length prefix makes the encoding unambiguous (target "a" with key
// "bc" differs from target "ab" with key "c") and makes every key of one
// target share targetPrefix(target), which no other target's keys start
// with, so one target's hints are one prefix scan.
const (
	recordVersion byte = 1
	headerLen          = 1 + 8

	// MaxTargetLen is the longest target name, in bytes.
	MaxTargetLen = math.MaxUint16
)

// ErrCorrupt is wrapped by the error for a stored hint that cannot be
// decoded: a key whose length prefix does not fit, a value shorter than
// its header, or an unknown version.
var ErrCorrupt = errors.New("hinted: corrupt hint record")

// hintKey returns the storage key of (target, key). The caller validates.
func hintKey(target string, key []byte) []byte {
	b := make([]byte, 0, 2+len(target)+len(key))
	b = binary.BigEndian.AppendUint16(b, uint16(len(target)))
	b = append(b, target...)
	return append(b, key...)
}

// targetPrefix returns the prefix shared by every storage key of target.
func targetPrefix(target string) []byte { return hintKey(target, nil) }

// splitKey decodes a storage key into its target and user key.
func splitKey(k []byte) (target string, key []byte, err error) {
	if len(k) < 2 {
		return "", nil, fmt.Errorf("%w: key of %d bytes has no target length", ErrCorrupt, len(k))
	}
	n := int(binary.BigEndian.Uint16(k))
	switch {
	case n == 0:
		return "", nil, fmt.Errorf("%w: empty target", ErrCorrupt)
	case len(k) <= 2+n:
		return "", nil, fmt.Errorf("%w: key of %d bytes cannot hold a %d-byte target and a key", ErrCorrupt, len(k), n)
	}
	return string(k[2 : 2+n]), k[2+n:], nil
}

// encodeRecord returns a new stored value: header and a copy of value.
func encodeRecord(created int64, value []byte) []byte {
	b := make([]byte, headerLen, headerLen+len(value))
	b[0] = recordVersion
	binary.BigEndian.PutUint64(b[1:], uint64(created))
	return append(b, value...)
}

// decodeRecord splits a stored value. The returned value aliases raw.
func decodeRecord(raw []byte) (created int64, value []byte, err error) {
	switch {
	case len(raw) < headerLen:
		return 0, nil, fmt.Errorf("%w: value of %d bytes is shorter than the %d-byte header", ErrCorrupt, len(raw), headerLen)
	case raw[0] != recordVersion:
		return 0, nil, fmt.Errorf("%w: unknown version %d", ErrCorrupt, raw[0])
	}
	return int64(binary.BigEndian.Uint64(raw[1:])), raw[headerLen:], nil
}
