package store

import (
	"encoding/binary"
	"fmt"
)

// Namespace bytes. Data and metadata live in disjoint key ranges, so a data
// prefix scan can never return metadata. See the layout in doc.go.
const (
	nsData byte = 'd'
	nsMeta byte = 'm'

	dataPrefixLen = 3 // namespace byte + big-endian uint16 partition
	metaPrefixLen = 1
)

// badgerMaxKey is the key length badger accepts (txn.go: 65000, kept below
// 64 KiB so its own prefixes and timestamps still fit a uint16 length).
const badgerMaxKey = 65000

// MaxKeySize is the longest data key, in bytes, that Store accepts: badger's
// limit minus this package's partition prefix.
const MaxKeySize = badgerMaxKey - dataPrefixLen

// MaxMetaNameSize is the longest metadata name, in bytes.
const MaxMetaNameSize = badgerMaxKey - metaPrefixLen

// partitionPrefix returns the prefix shared by every key of partition p.
func partitionPrefix(p uint16) []byte {
	b := make([]byte, dataPrefixLen)
	b[0] = nsData
	binary.BigEndian.PutUint16(b[1:], p)
	return b
}

// dataKey returns the badger key of (p, key). The caller validates key.
func dataKey(p uint16, key []byte) []byte {
	b := make([]byte, dataPrefixLen+len(key))
	b[0] = nsData
	binary.BigEndian.PutUint16(b[1:], p)
	copy(b[dataPrefixLen:], key)
	return b
}

// metaKey returns the badger key of metadata name.
func metaKey(name string) []byte {
	b := make([]byte, metaPrefixLen+len(name))
	b[0] = nsMeta
	copy(b[metaPrefixLen:], name)
	return b
}

func checkKey(key []byte) error {
	switch {
	case len(key) == 0:
		return fmt.Errorf("%w: empty key", ErrInvalidKey)
	case len(key) > MaxKeySize:
		return fmt.Errorf("%w: key of %d bytes exceeds %d", ErrInvalidKey, len(key), MaxKeySize)
	}
	return nil
}

func checkMetaName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty metadata name", ErrInvalidKey)
	case len(name) > MaxMetaNameSize:
		return fmt.Errorf("%w: metadata name of %d bytes exceeds %d", ErrInvalidKey, len(name), MaxMetaNameSize)
	}
	return nil
}
