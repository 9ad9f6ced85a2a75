package transport

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/dynkv/dynkv/node/internal/wire"
)

// The framed internode protocol (docs/DESIGN.md, "Internode protocol").
// Every message is one frame, big-endian:
//
//	length   uint32  bytes after this field: 11 + len(op) + len(body)
//	version  uint8   FrameVersion
//	kind     uint8   frameRequest, frameAnswer or frameRefusal
//	id       uint64  chosen by the caller; an answer carries its request's
//	oplen    uint8   0 in answers
//	op       oplen bytes: the operation (wire.Op)
//	body     the operation's binary message (package wire), an answer's
//	         result, or a refusal's wire.EncodeRemoteError
//
// Answers carry the id of their request and may come in any order, so a
// slow request holds up no other. A node refuses a frame of a version it
// does not speak with a refusal naming the versions (in version 1
// framing, which every later version must keep for that purpose) and
// closes the connection.

// FrameVersion is the protocol version this node speaks.
const FrameVersion = 1

const (
	frameRequest = 1
	frameAnswer  = 2
	frameRefusal = 3
)

// frameHeaderLen is the fixed part of a frame, length field included.
const frameHeaderLen = 4 + 1 + 1 + 8 + 1

// frameFixedAfterLength is what length counts besides op and body.
const frameFixedAfterLength = frameHeaderLen - 4

// maxOpLen bounds an operation's name (it has one byte of length).
const maxOpLen = 255

// frame is one decoded frame; body is the caller's.
type frame struct {
	version uint8
	kind    uint8
	id      uint64
	op      wire.Op
	body    []byte
}

// frameHeader is a frame's fixed part.
type frameHeader struct {
	length  uint32
	version uint8
	kind    uint8
	id      uint64
	opLen   uint8
}

// errFrameVersion is a frame of a version this node does not speak.
type errFrameVersion struct{ got uint8 }

func (e errFrameVersion) Error() string {
	return fmt.Sprintf("internode frame of protocol version %d; this node speaks version %d", e.got, FrameVersion)
}

var errFrameMalformed = errors.New("malformed internode frame")

// appendFrame appends one frame to dst. op must be at most maxOpLen bytes.
func appendFrame(dst []byte, kind uint8, id uint64, op wire.Op, body []byte) []byte {
	n := frameFixedAfterLength + len(op) + len(body)
	dst = binary.BigEndian.AppendUint32(dst, uint32(n))
	dst = append(dst, FrameVersion, kind)
	dst = binary.BigEndian.AppendUint64(dst, id)
	dst = append(dst, uint8(len(op)))
	dst = append(dst, op...)
	return append(dst, body...)
}

// frameLen is the encoded size of a frame.
func frameLen(op wire.Op, body []byte) int { return frameHeaderLen + len(op) + len(body) }

// parseFrameHeader checks a frame's fixed part; maxBody bounds the body.
// A version error is reported only once the length is known sane, so a
// refusal can still name the request it answers.
func parseFrameHeader(b []byte, maxBody int) (frameHeader, error) {
	h := frameHeader{
		length:  binary.BigEndian.Uint32(b),
		version: b[4],
		kind:    b[5],
		id:      binary.BigEndian.Uint64(b[6:]),
		opLen:   b[14],
	}
	switch {
	case h.length < frameFixedAfterLength+uint32(h.opLen):
		return h, fmt.Errorf("%w: length %d shorter than its header", errFrameMalformed, h.length)
	case int64(h.length) > int64(frameFixedAfterLength+maxOpLen+maxBody):
		return h, fmt.Errorf("%w: %d bytes exceeds the limit of %d (not a dynkv internode peer?)", errFrameMalformed, h.length, maxBody)
	case h.version != FrameVersion:
		return h, errFrameVersion{h.version}
	case h.kind < frameRequest || h.kind > frameRefusal:
		return h, fmt.Errorf("%w: kind %d", errFrameMalformed, h.kind)
	case h.kind != frameRequest && h.opLen != 0:
		return h, fmt.Errorf("%w: an answer names an operation", errFrameMalformed)
	}
	return h, nil
}

// bodyLen is the length of the body that follows the header and op.
func (h frameHeader) bodyLen() int { return int(h.length) - frameFixedAfterLength - int(h.opLen) }

// decodeFrame decodes the frame at the start of b and returns it with the
// bytes it took; the body aliases b. It is the whole decoder that
// readFrame applies to a stream, as a pure function for the fuzzer.
func decodeFrame(b []byte, maxBody int) (frame, int, error) {
	if len(b) < frameHeaderLen {
		return frame{}, 0, fmt.Errorf("%w: %d bytes, shorter than a header", errFrameMalformed, len(b))
	}
	h, err := parseFrameHeader(b, maxBody)
	if err != nil {
		return frame{}, 0, err
	}
	end := 4 + int(h.length)
	if len(b) < end {
		return frame{}, 0, fmt.Errorf("%w: truncated at %d of %d bytes", errFrameMalformed, len(b), end)
	}
	opEnd := frameHeaderLen + int(h.opLen)
	return frame{version: h.version, kind: h.kind, id: h.id, op: wire.Op(b[frameHeaderLen:opEnd]), body: b[opEnd:end]}, end, nil
}

// readFrameHeader reads and checks the fixed part of the next frame.
func readFrameHeader(br *bufio.Reader, maxBody int) (frameHeader, error) {
	// Peeked in the reader's buffer rather than copied out: a local array
	// handed to io.ReadFull would escape, one allocation per frame.
	hb, err := br.Peek(frameHeaderLen)
	if err != nil {
		if errors.Is(err, io.EOF) && len(hb) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return frameHeader{}, err
	}
	h, err := parseFrameHeader(hb, maxBody)
	br.Discard(frameHeaderLen)
	return h, err
}

// readFrameRest reads the op and body that follow h into memory of their
// own. The caller owns the body.
func readFrameRest(br *bufio.Reader, h frameHeader) (frame, error) {
	rest := make([]byte, int(h.length)-frameFixedAfterLength)
	if _, err := io.ReadFull(br, rest); err != nil {
		return frame{}, fmt.Errorf("%w: %v", errFrameMalformed, err)
	}
	return frame{version: h.version, kind: h.kind, id: h.id, op: opName(rest[:h.opLen]), body: rest[h.opLen:]}, nil
}

// opName returns the operation named b, without allocating for the
// operations this node knows (a switch on string(b) does not copy).
func opName(b []byte) wire.Op {
	switch wire.Op(b) {
	case wire.OpRead:
		return wire.OpRead
	case wire.OpWrite:
		return wire.OpWrite
	case wire.OpMerge:
		return wire.OpMerge
	case wire.OpHintRead:
		return wire.OpHintRead
	case wire.OpHintWrite:
		return wire.OpHintWrite
	case wire.OpHintMerge:
		return wire.OpHintMerge
	case wire.OpTreeChildren:
		return wire.OpTreeChildren
	case wire.OpTreeEntries:
		return wire.OpTreeEntries
	case wire.OpReap:
		return wire.OpReap
	case wire.OpStatus:
		return wire.OpStatus
	case wire.OpBucketsGet:
		return wire.OpBucketsGet
	case wire.OpBucketsMerge:
		return wire.OpBucketsMerge
	case "":
		return ""
	}
	return wire.Op(b)
}

// readFrame reads one whole frame.
func readFrame(br *bufio.Reader, maxBody int) (frame, error) {
	h, err := readFrameHeader(br, maxBody)
	if err != nil {
		return frame{}, err
	}
	return readFrameRest(br, h)
}
