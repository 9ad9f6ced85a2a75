package wire

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/dynkv/dynkv/bucket"
	"github.com/dynkv/dynkv/vclock"
)

// Version is the first byte of every message.
const Version = 1

// Op names an internode operation.
type Op string

const (
	// OpRead returns the replica's sibling set for a key.
	OpRead Op = "read"
	// OpWrite asks a replica of the key to mint a dot for a client write,
	// apply it and return the resulting set.
	OpWrite Op = "write"
	// OpMerge merges a sibling set into the replica's state.
	OpMerge Op = "merge"
	// OpHintWrite asks a fallback to mint a dot for a client write when no
	// replica of the key is reachable, keeping the result as a hint.
	OpHintWrite Op = "hint-write"
	// OpHintMerge asks a fallback to keep a sibling set as a hint for the
	// replica it stands in for.
	OpHintMerge Op = "hint-merge"
	// OpHintRead returns what a fallback holds for a key as a hint for a
	// replica (sloppy reads).
	OpHintRead Op = "hint-read"
	// OpReap asks a replica to forget a key if its state equals the given
	// one (a MergeRequest): tombstone reaping once every replica agrees.
	OpReap Op = "reap"
)

// A request to a fallback names the replica it stands in for: the target,
// then the wrapped message without its version byte.
func EncodeHinted(target string, inner []byte) []byte {
	b := appendBytes([]byte{Version}, []byte(target))
	return append(b, inner[1:]...)
}

// SplitHinted returns the target and the wrapped message, re-prefixed with
// the version byte so its own decoder can read it.
func SplitHinted(b []byte) (string, []byte, error) {
	r := newReader(b)
	target := r.bytes()
	if r.err == nil && (len(target) == 0 || len(target) > 255) {
		r.fail("hint target length %d outside 1..255", len(target))
	}
	if r.err != nil {
		return "", nil, r.err
	}
	return string(target), append([]byte{Version}, r.buf...), nil
}

// MaxKeyLen bounds keys on the wire: internal keys (package bucket), a
// client key in the bucket with the longest name.
const MaxKeyLen = bucket.MaxInternalKeyLen

type ReadRequest struct{ Key []byte }

type ReadResponse struct{ Set vclock.Set }

type WriteRequest struct {
	Key         []byte
	Context     vclock.Context
	Value       []byte
	ContentType string
	Deleted     bool
	// TTL, when above zero, makes the minted sibling expire that long
	// after the minting replica's clock stamps it (docs/GUARANTEES.md,
	// "Expiry"); whole milliseconds.
	TTL time.Duration
}

// MaxTTL bounds a write's TTL: longer is surely a unit mistake, and it
// keeps expiry times far from overflowing.
const MaxTTL = 100 * 365 * 24 * time.Hour

const (
	writeFlagDeleted = 1 << 0
	writeFlagTTL     = 1 << 1
)

type WriteResponse struct {
	Dot vclock.Dot // the dot minted for the write
	Set vclock.Set // the replica's state after it
}

type MergeRequest struct {
	Key []byte
	Set vclock.Set
}

func (m ReadRequest) Encode() []byte { return appendBytes([]byte{Version}, m.Key) }

func DecodeReadRequest(b []byte) (ReadRequest, error) {
	r := newReader(b)
	m := ReadRequest{Key: r.key()}
	return m, r.finish()
}

func (m ReadResponse) Encode() []byte {
	return m.Set.AppendBinary(wireBuf(m.Set.EncodedLen()))
}

func DecodeReadResponse(b []byte) (ReadResponse, error) {
	r := newReader(b)
	m := ReadResponse{Set: r.set()}
	return m, r.finish()
}

func (m WriteRequest) Encode() []byte {
	b := appendBytes(wireBuf(len(m.Key)+m.Context.EncodedLen()+len(m.ContentType)+len(m.Value)+4*binary.MaxVarintLen64+1), m.Key)
	b = binary.AppendUvarint(b, uint64(m.Context.EncodedLen()))
	b = m.Context.AppendBinary(b)
	b = appendBytes(b, []byte(m.ContentType))
	var flags byte
	if m.Deleted {
		flags |= writeFlagDeleted
	}
	if m.TTL > 0 {
		flags |= writeFlagTTL
	}
	b = append(b, flags)
	if m.TTL > 0 {
		b = binary.AppendUvarint(b, uint64(m.TTL.Milliseconds()))
	}
	return appendBytes(b, m.Value)
}

func DecodeWriteRequest(b []byte) (WriteRequest, error) {
	r := newReader(b)
	m := WriteRequest{Key: r.key()}
	m.Context = r.context()
	m.ContentType = string(r.bytes())
	flags := r.byte()
	if flags&^(writeFlagDeleted|writeFlagTTL) != 0 {
		r.fail("unknown write flags %#x", flags)
	}
	m.Deleted = flags&writeFlagDeleted != 0
	if flags&writeFlagTTL != 0 {
		ms := r.uvarint()
		if ms == 0 || ms > uint64(MaxTTL.Milliseconds()) {
			r.fail("TTL of %d ms is outside 1 ms to %s", ms, MaxTTL)
		}
		m.TTL = time.Duration(ms) * time.Millisecond
	}
	m.Value = r.bytes()
	return m, r.finish()
}

func (m WriteResponse) Encode() []byte {
	b := appendBytes(wireBuf(len(m.Dot.Actor)+m.Set.EncodedLen()+2*binary.MaxVarintLen64), []byte(m.Dot.Actor))
	b = binary.AppendUvarint(b, m.Dot.Counter)
	return m.Set.AppendBinary(b)
}

func DecodeWriteResponse(b []byte) (WriteResponse, error) {
	r := newReader(b)
	m := WriteResponse{Dot: vclock.Dot{Actor: string(r.bytes()), Counter: r.uvarint()}}
	m.Set = r.set()
	if err := r.finish(); err != nil {
		return WriteResponse{}, err
	}
	if !m.Set.Context.Contains(m.Dot) {
		return WriteResponse{}, fmt.Errorf("%w: minted dot %s is not in the returned set", ErrBadMessage, m.Dot)
	}
	return m, nil
}

func (m MergeRequest) Encode() []byte {
	return m.Set.AppendBinary(appendBytes(wireBuf(len(m.Key)+m.Set.EncodedLen()+binary.MaxVarintLen64), m.Key))
}

// EncodeMerge is a MergeRequest's encoding from a set already encoded (as
// the store and the hint queue hold it), without decoding it first.
func EncodeMerge(key, encodedSet []byte) []byte {
	return append(appendBytes(wireBuf(len(key)+len(encodedSet)+binary.MaxVarintLen64), key), encodedSet...)
}

func DecodeMergeRequest(b []byte) (MergeRequest, error) {
	r := newReader(b)
	m := MergeRequest{Key: r.key()}
	m.Set = r.set()
	return m, r.finish()
}

// wireBuf starts a message: the version byte, with room for n more bytes
// so that encoding allocates once.
func wireBuf(n int) []byte {
	b := make([]byte, 1, 1+n)
	b[0] = Version
	return b
}

func appendBytes(dst, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

// reader decodes one message, keeping the first error. Decoded byte
// slices alias the input.
type reader struct {
	buf []byte
	err error
}

func newReader(b []byte) *reader {
	r := &reader{buf: b}
	if v := r.byte(); r.err == nil && v != Version {
		r.fail("unsupported wire version %d", v)
	}
	return r
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s", ErrBadMessage, fmt.Sprintf(format, args...))
	}
	r.buf = nil
}

func (r *reader) byte() byte {
	if r.err != nil {
		return 0
	}
	if len(r.buf) == 0 {
		r.fail("truncated")
		return 0
	}
	b := r.buf[0]
	r.buf = r.buf[1:]
	return b
}

func (r *reader) bytes() []byte {
	if r.err != nil {
		return nil
	}
	n, k := binary.Uvarint(r.buf)
	if k <= 0 || n > uint64(len(r.buf)-k) || (k > 1 && r.buf[k-1] == 0) {
		r.fail("bad length")
		return nil
	}
	b := r.buf[k : k+int(n) : k+int(n)]
	r.buf = r.buf[k+int(n):]
	return b
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, k := binary.Uvarint(r.buf)
	if k <= 0 || (k > 1 && r.buf[k-1] == 0) {
		r.fail("bad varint")
		return 0
	}
	r.buf = r.buf[k:]
	return v
}

func (r *reader) key() []byte {
	k := r.bytes()
	if r.err == nil && (len(k) == 0 || len(k) > MaxKeyLen) {
		r.fail("key length %d outside 1..%d", len(k), MaxKeyLen)
	}
	return k
}

func (r *reader) context() vclock.Context {
	b := r.bytes()
	if r.err != nil {
		return vclock.Context{}
	}
	c, err := vclock.DecodeContext(b)
	if err != nil {
		r.fail("context: %v", err)
	}
	return c
}

// set consumes the rest of the message as an encoded set.
func (r *reader) set() vclock.Set {
	if r.err != nil {
		return vclock.Set{}
	}
	s, err := vclock.DecodeSet(r.buf)
	if err != nil {
		r.fail("set: %v", err)
		return vclock.Set{}
	}
	r.buf = nil
	return s
}

func (r *reader) finish() error {
	if r.err == nil && len(r.buf) != 0 {
		r.fail("%d trailing bytes", len(r.buf))
	}
	return r.err
}
