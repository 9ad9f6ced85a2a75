package vclock

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
)

// Encoding format version 1, all integers unsigned varints unless noted:
//
//	context  = actorCount { len(actor) actor max cloudCount { cloudDelta } }
//	set      = version(byte 1) context siblingCount { sibling }
//	sibling  = actorIndex counter flags(byte) modified(zigzag varint)
//	           [expires(zigzag varint), if flags has flagExpires]
//	           len(contentType) contentType len(value) value
//
// Actors are sorted and unique; cloud counters are stored as gaps from the
// previous one (starting from max+1), each at least 1. Siblings name their
// actor by index into the context's actor list, which is sound because a
// sibling's dot is always in its set's context. flagExpires was added
// within version 1: sets written before it decode unchanged.
const (
	setFormatV1 = 1

	// MaxActorLen bounds an actor name.
	MaxActorLen = 255
	// maxActors bounds decoded contexts; dynkv's metadata grows with nodes,
	// so anything near this is hostile or corrupt.
	maxActors = 1 << 14

	flagDeleted = 1 << 0
	flagExpires = 1 << 1
	knownFlags  = flagDeleted | flagExpires
)

// ErrMalformed is wrapped by every decoding error.
var ErrMalformed = errors.New("malformed causal data")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// AppendBinary appends the context's encoding to dst.
func (c Context) AppendBinary(dst []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(c.entries)))
	for _, e := range c.entries {
		dst = binary.AppendUvarint(dst, uint64(len(e.actor)))
		dst = append(dst, e.actor...)
		dst = binary.AppendUvarint(dst, e.max)
		dst = binary.AppendUvarint(dst, uint64(len(e.cloud)))
		prev := e.max
		for _, n := range e.cloud {
			dst = binary.AppendUvarint(dst, n-prev)
			prev = n
		}
	}
	return dst
}

// EncodedLen is the length of the context's encoding, so that callers can
// size a buffer once instead of growing it while appending.
func (c Context) EncodedLen() int {
	n := uvarintLen(uint64(len(c.entries)))
	for _, e := range c.entries {
		n += uvarintLen(uint64(len(e.actor))) + len(e.actor) + uvarintLen(e.max) + uvarintLen(uint64(len(e.cloud)))
		prev := e.max
		for _, x := range e.cloud {
			n += uvarintLen(x - prev)
			prev = x
		}
	}
	return n
}

// EncodedLen is the length of the set's encoding (see Context.EncodedLen).
func (s Set) EncodedLen() int {
	n := 1 + s.Context.EncodedLen() + uvarintLen(uint64(len(s.Siblings)))
	for _, sib := range s.Siblings {
		idx, _ := s.Context.find(sib.Dot.Actor)
		if sib.Expires != 0 {
			n += varintLen(sib.Expires)
		}
		n += uvarintLen(uint64(idx)) + uvarintLen(sib.Dot.Counter) + 1 + varintLen(sib.Modified) +
			uvarintLen(uint64(len(sib.ContentType))) + len(sib.ContentType) +
			uvarintLen(uint64(len(sib.Value))) + len(sib.Value)
	}
	return n
}

func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

// varintLen matches binary.AppendVarint's zig-zag encoding.
func varintLen(x int64) int {
	ux := uint64(x) << 1
	if x < 0 {
		ux = ^ux
	}
	return uvarintLen(ux)
}

// AppendBinary appends the set's encoding to dst.
func (s Set) AppendBinary(dst []byte) []byte {
	dst = append(dst, setFormatV1)
	dst = s.Context.AppendBinary(dst)
	dst = binary.AppendUvarint(dst, uint64(len(s.Siblings)))
	for _, sib := range s.Siblings {
		idx, _ := s.Context.find(sib.Dot.Actor)
		dst = binary.AppendUvarint(dst, uint64(idx))
		dst = binary.AppendUvarint(dst, sib.Dot.Counter)
		var flags byte
		if sib.Deleted {
			flags |= flagDeleted
		}
		if sib.Expires != 0 {
			flags |= flagExpires
		}
		dst = append(dst, flags)
		dst = binary.AppendVarint(dst, sib.Modified)
		if sib.Expires != 0 {
			dst = binary.AppendVarint(dst, sib.Expires)
		}
		dst = binary.AppendUvarint(dst, uint64(len(sib.ContentType)))
		dst = append(dst, sib.ContentType...)
		dst = binary.AppendUvarint(dst, uint64(len(sib.Value)))
		dst = append(dst, sib.Value...)
	}
	return dst
}

// Encode returns the set's binary encoding.
func (s Set) Encode() []byte { return s.AppendBinary(make([]byte, 0, s.EncodedLen())) }

// DecodeSet parses an encoded set. The result's values alias b: the caller
// must not modify b while the set is in use.
func DecodeSet(b []byte) (Set, error) {
	d := decoder{buf: b}
	if v := d.byte(); d.err == nil && v != setFormatV1 {
		return Set{}, malformed("unknown set format version %d", v)
	}
	ctx := d.context()
	n := d.count(4)
	var s Set
	if n > 0 {
		s.Siblings = make([]Sibling, 0, n)
	}
	for i := 0; i < n && d.err == nil; i++ {
		idx := d.uvarint()
		counter := d.uvarint()
		flags := d.byte()
		modified := d.varint()
		var expires int64
		if flags&flagExpires != 0 {
			if expires = d.varint(); expires == 0 && d.err == nil {
				return Set{}, malformed("sibling %d has an expiry flag but no expiry", i)
			}
		}
		ct := d.bytes()
		val := d.bytes()
		if d.err != nil {
			break
		}
		if idx >= uint64(len(ctx.entries)) {
			return Set{}, malformed("sibling %d names actor %d of %d", i, idx, len(ctx.entries))
		}
		if flags&^knownFlags != 0 {
			return Set{}, malformed("sibling %d has unknown flags %#x", i, flags)
		}
		sib := Sibling{
			Dot:         Dot{Actor: ctx.entries[idx].actor, Counter: counter},
			Value:       val,
			ContentType: string(ct),
			Deleted:     flags&flagDeleted != 0,
			Modified:    modified,
			Expires:     expires,
		}
		if !ctx.Contains(sib.Dot) {
			return Set{}, malformed("sibling %s is outside its context", sib.Dot)
		}
		if i > 0 && compareDots(s.Siblings[i-1].Dot, sib.Dot) >= 0 {
			return Set{}, malformed("siblings are not in strictly ascending dot order")
		}
		s.Siblings = append(s.Siblings, sib)
	}
	if d.err != nil {
		return Set{}, d.err
	}
	if len(d.buf) != 0 {
		return Set{}, malformed("%d trailing bytes", len(d.buf))
	}
	s.Context = ctx
	return s, nil
}

// DecodeContext parses a context encoded with Context.AppendBinary, which
// must span all of b.
func DecodeContext(b []byte) (Context, error) {
	d := decoder{buf: b}
	c := d.context()
	if d.err != nil {
		return Context{}, d.err
	}
	if len(d.buf) != 0 {
		return Context{}, malformed("%d trailing bytes", len(d.buf))
	}
	return c, nil
}

// decoder reads from buf, remembering the first error; later reads return
// zero values, so callers check err once per logical unit.
type decoder struct {
	buf []byte
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = malformed(format, args...)
	}
	d.buf = nil
}

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if len(d.buf) == 0 {
		d.fail("truncated")
		return 0
	}
	b := d.buf[0]
	d.buf = d.buf[1:]
	return b
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.buf)
	if n <= 0 {
		d.fail("bad or truncated varint")
		return 0
	}
	// A trailing zero byte pads the number: reject it so that every value
	// has exactly one encoding and equal states hash equally.
	if n > 1 && d.buf[n-1] == 0 {
		d.fail("non-minimal varint")
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

// varint reads a zigzag-encoded signed varint: the unsigned encoding of
// (v << 1) ^ (v >> 63), exactly as binary.AppendVarint writes it.
func (d *decoder) varint() int64 {
	u := d.uvarint()
	return int64(u>>1) ^ -int64(u&1)
}

// count reads an element count and rejects one that the remaining input
// could not possibly hold at minSize bytes per element, so a hostile count
// cannot make us allocate.
func (d *decoder) count(minSize int) int {
	n := d.uvarint()
	if d.err == nil && n > uint64(len(d.buf)/minSize) {
		d.fail("count %d exceeds remaining input", n)
		return 0
	}
	return int(n)
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.buf)) {
		d.fail("length %d exceeds remaining input", n)
		return nil
	}
	b := d.buf[:n:n]
	d.buf = d.buf[n:]
	return b
}

func (d *decoder) context() Context {
	n := d.count(3)
	if d.err != nil {
		return Context{}
	}
	if n > maxActors {
		d.fail("%d actors exceeds the limit of %d", n, maxActors)
		return Context{}
	}
	var c Context
	if n > 0 {
		c.entries = make([]actorEntry, 0, n)
	}
	for i := 0; i < n && d.err == nil; i++ {
		actor := d.bytes()
		e := actorEntry{actor: string(actor), max: d.uvarint()}
		clouds := d.count(1)
		if d.err != nil {
			break
		}
		switch {
		case len(actor) == 0 || len(actor) > MaxActorLen:
			d.fail("actor name length %d outside 1..%d", len(actor), MaxActorLen)
		case i > 0 && strings.Compare(c.entries[i-1].actor, e.actor) >= 0:
			d.fail("actors are not in strictly ascending order")
		}
		if clouds > 0 {
			e.cloud = make([]uint64, 0, clouds)
		}
		prev := e.max
		for k := 0; k < clouds && d.err == nil; k++ {
			gap := d.uvarint()
			// A gap of 1 would be contiguous with max and must have been folded.
			minGap := uint64(1)
			if k == 0 {
				minGap = 2
			}
			if gap < minGap || gap > math.MaxUint64-prev {
				d.fail("cloud counter gap %d invalid", gap)
				break
			}
			prev += gap
			e.cloud = append(e.cloud, prev)
		}
		if e.max == 0 && len(e.cloud) == 0 && d.err == nil {
			d.fail("actor %q has no dots", e.actor)
		}
		c.entries = append(c.entries, e)
	}
	if d.err != nil {
		return Context{}
	}
	return c
}
