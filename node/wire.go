package node

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/dynkv/dynkv/vclock"
)

// Internode messages are binary and versioned: every body starts with
// wireVersion, so a node can refuse (rather than misread) a peer speaking a
// newer format during a rolling upgrade. The operation is named by the
// request path (see Op), not the body.
const wireVersion = 1

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
)

// A request to a fallback names the replica it stands in for: the target,
// then the wrapped message without its version byte.
func encodeHinted(target string, inner []byte) []byte {
	b := appendBytes([]byte{wireVersion}, []byte(target))
	return append(b, inner[1:]...)
}

// splitHinted returns the target and the wrapped message, re-prefixed with
// the version byte so its own decoder can read it.
func splitHinted(b []byte) (string, []byte, error) {
	r := newWireReader(b)
	target := r.bytes()
	if r.err == nil && (len(target) == 0 || len(target) > 255) {
		r.fail("hint target length %d outside 1..255", len(target))
	}
	if r.err != nil {
		return "", nil, r.err
	}
	return string(target), append([]byte{wireVersion}, r.buf...), nil
}

// ErrBadMessage is wrapped by every internode decoding error.
var ErrBadMessage = errors.New("malformed internode message")

// maxKeyLen bounds keys on the wire as on the client API.
const maxKeyLen = 1024

type readRequest struct{ Key []byte }

type readResponse struct{ Set vclock.Set }

type writeRequest struct {
	Key         []byte
	Context     vclock.Context
	Value       []byte
	ContentType string
	Deleted     bool
}

type writeResponse struct {
	Dot vclock.Dot // the dot minted for the write
	Set vclock.Set // the replica's state after it
}

type mergeRequest struct {
	Key []byte
	Set vclock.Set
}

func (m readRequest) encode() []byte { return appendBytes([]byte{wireVersion}, m.Key) }

func decodeReadRequest(b []byte) (readRequest, error) {
	r := newWireReader(b)
	m := readRequest{Key: r.key()}
	return m, r.finish()
}

func (m readResponse) encode() []byte {
	return m.Set.AppendBinary(wireBuf(m.Set.EncodedLen()))
}

func decodeReadResponse(b []byte) (readResponse, error) {
	r := newWireReader(b)
	m := readResponse{Set: r.set()}
	return m, r.finish()
}

func (m writeRequest) encode() []byte {
	b := appendBytes(wireBuf(len(m.Key)+m.Context.EncodedLen()+len(m.ContentType)+len(m.Value)+4*binary.MaxVarintLen64+1), m.Key)
	b = binary.AppendUvarint(b, uint64(m.Context.EncodedLen()))
	b = m.Context.AppendBinary(b)
	b = appendBytes(b, []byte(m.ContentType))
	var flags byte
	if m.Deleted {
		flags = 1
	}
	b = append(b, flags)
	return appendBytes(b, m.Value)
}

func decodeWriteRequest(b []byte) (writeRequest, error) {
	r := newWireReader(b)
	m := writeRequest{Key: r.key()}
	m.Context = r.context()
	m.ContentType = string(r.bytes())
	switch flags := r.byte(); flags {
	case 0:
	case 1:
		m.Deleted = true
	default:
		r.fail("unknown write flags %#x", flags)
	}
	m.Value = r.bytes()
	return m, r.finish()
}

func (m writeResponse) encode() []byte {
	b := appendBytes(wireBuf(len(m.Dot.Actor)+m.Set.EncodedLen()+2*binary.MaxVarintLen64), []byte(m.Dot.Actor))
	b = binary.AppendUvarint(b, m.Dot.Counter)
	return m.Set.AppendBinary(b)
}

func decodeWriteResponse(b []byte) (writeResponse, error) {
	r := newWireReader(b)
	m := writeResponse{Dot: vclock.Dot{Actor: string(r.bytes()), Counter: r.uvarint()}}
	m.Set = r.set()
	if err := r.finish(); err != nil {
		return writeResponse{}, err
	}
	if !m.Set.Context.Contains(m.Dot) {
		return writeResponse{}, fmt.Errorf("%w: minted dot %s is not in the returned set", ErrBadMessage, m.Dot)
	}
	return m, nil
}

func (m mergeRequest) encode() []byte {
	return m.Set.AppendBinary(appendBytes(wireBuf(len(m.Key)+m.Set.EncodedLen()+binary.MaxVarintLen64), m.Key))
}

func decodeMergeRequest(b []byte) (mergeRequest, error) {
	r := newWireReader(b)
	m := mergeRequest{Key: r.key()}
	m.Set = r.set()
	return m, r.finish()
}

// wireBuf starts a message: the version byte, with room for n more bytes
// so that encoding allocates once.
func wireBuf(n int) []byte {
	b := make([]byte, 1, 1+n)
	b[0] = wireVersion
	return b
}

func appendBytes(dst, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

// wireReader decodes one message, keeping the first error. Decoded byte
// slices alias the input.
type wireReader struct {
	buf []byte
	err error
}

func newWireReader(b []byte) *wireReader {
	r := &wireReader{buf: b}
	if v := r.byte(); r.err == nil && v != wireVersion {
		r.fail("unsupported wire version %d", v)
	}
	return r
}

func (r *wireReader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s", ErrBadMessage, fmt.Sprintf(format, args...))
	}
	r.buf = nil
}

func (r *wireReader) byte() byte {
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

func (r *wireReader) bytes() []byte {
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

func (r *wireReader) uvarint() uint64 {
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

func (r *wireReader) key() []byte {
	k := r.bytes()
	if r.err == nil && (len(k) == 0 || len(k) > maxKeyLen) {
		r.fail("key length %d outside 1..%d", len(k), maxKeyLen)
	}
	return k
}

func (r *wireReader) context() vclock.Context {
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
func (r *wireReader) set() vclock.Set {
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

func (r *wireReader) finish() error {
	if r.err == nil && len(r.buf) != 0 {
		r.fail("%d trailing bytes", len(r.buf))
	}
	return r.err
}
