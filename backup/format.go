package backup

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"time"

	"github.com/dynkv/dynkv/bucket"
)

// Magic starts every backup file.
const Magic = "DYNKVBAK"

// Version is the format version this package writes. It reads it and
// every version before it (see the package documentation).
const Version = 2

// version1 is the format before buckets: its header has no bucket, and its
// keys are the default bucket's.
const version1 = 1

// Bounds a reader enforces before it allocates.
const (
	MaxKey = 1 << 10  // as the store's keys
	MaxSet = 64 << 20 // as the largest internode message
)

const (
	tagRecord  = 'R'
	tagTrailer = 'E'
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// DamageError says where a backup stops being readable.
type DamageError struct {
	Offset int64 // of the first byte that is not part of a whole, checked record
	Reason string
}

func (e *DamageError) Error() string {
	return fmt.Sprintf("backup damaged at byte %d: %s", e.Offset, e.Reason)
}

// Writer writes a backup. Close writes the trailer; a backup without it is
// refused by Reader as cut short.
type Writer struct {
	w     *bufio.Writer
	count uint64
	buf   []byte
	err   error
}

// NewWriter writes the header of a backup of bucket's keys to w.
func NewWriter(w io.Writer, created time.Time, bucketName string) (*Writer, error) {
	if err := bucket.CheckName(bucketName); err != nil {
		return nil, fmt.Errorf("backup header: %w", err)
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	h := append([]byte(Magic), Version)
	h = binary.BigEndian.AppendUint64(h, uint64(created.UnixNano()))
	h = binary.AppendUvarint(h, uint64(len(bucketName)))
	h = append(h, bucketName...)
	h = binary.BigEndian.AppendUint32(h, crc32.Checksum(h, castagnoli))
	if _, err := bw.Write(h); err != nil {
		return nil, fmt.Errorf("write backup header: %w", err)
	}
	return &Writer{w: bw}, nil
}

// Add writes one key's record.
func (w *Writer) Add(key, set []byte) error {
	if w.err != nil {
		return w.err
	}
	if len(key) == 0 || len(key) > MaxKey || len(set) > MaxSet {
		return fmt.Errorf("backup record: key of %d bytes, set of %d: outside the format's bounds", len(key), len(set))
	}
	b := append(w.buf[:0], tagRecord)
	b = binary.AppendUvarint(b, uint64(len(key)))
	b = append(b, key...)
	b = binary.AppendUvarint(b, uint64(len(set)))
	b = append(b, set...)
	b = binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
	w.buf = b
	if _, err := w.w.Write(b); err != nil {
		w.err = fmt.Errorf("write backup record: %w", err)
		return w.err
	}
	w.count++
	return nil
}

// Count is the records written so far.
func (w *Writer) Count() uint64 { return w.count }

// Close writes the trailer and flushes; it does not close the underlying
// writer.
func (w *Writer) Close() error {
	if w.err != nil {
		return w.err
	}
	b := binary.AppendUvarint([]byte{tagTrailer}, w.count)
	b = binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
	if _, err := w.w.Write(b); err != nil {
		return fmt.Errorf("write backup trailer: %w", err)
	}
	if err := w.w.Flush(); err != nil {
		return fmt.Errorf("flush backup: %w", err)
	}
	return nil
}

// Reader reads a backup record by record.
type Reader struct {
	r       *countingReader
	Created time.Time
	// Bucket is the bucket the keys were backed up from: the default
	// bucket for a file of version 1, from before buckets.
	Bucket string
	// Version is the file's format version.
	Version int
	count   uint64
	done    bool
}

// NewReader reads and checks the header.
func NewReader(r io.Reader) (*Reader, error) {
	cr := &countingReader{r: bufio.NewReaderSize(r, 1<<20)}
	rec := &recording{r: cr}
	h := make([]byte, len(Magic)+1+8)
	if _, err := io.ReadFull(cr, h); err != nil {
		return nil, &DamageError{Offset: cr.n, Reason: "no whole header: not a dynkv backup, or empty"}
	}
	rec.b = h
	switch v := h[len(Magic)]; {
	case string(h[:len(Magic)]) != Magic:
		return nil, &DamageError{Offset: 0, Reason: "not a dynkv backup (bad magic)"}
	case v != version1 && v != Version:
		return nil, &DamageError{Offset: int64(len(Magic)), Reason: fmt.Sprintf("format version %d; this dynkv reads %d to %d", v, version1, Version)}
	}
	created := int64(binary.BigEndian.Uint64(h[len(Magic)+1:]))
	out := &Reader{r: cr, Created: time.Unix(0, created).UTC(), Bucket: bucket.Default, Version: int(h[len(Magic)])}
	if out.Version == version1 {
		return out, nil
	}
	name, err := rec.bytes(bucket.MaxNameLen)
	if err != nil {
		return nil, &DamageError{Offset: 0, Reason: "header: bucket name " + err.Error()}
	}
	body := len(rec.b)
	sum, err := rec.uint32()
	switch {
	case err != nil:
		return nil, &DamageError{Offset: 0, Reason: "header cut short"}
	case sum != crc32.Checksum(rec.b[:body], castagnoli):
		return nil, &DamageError{Offset: 0, Reason: "header fails its checksum"}
	case bucket.CheckName(string(name)) != nil:
		return nil, &DamageError{Offset: 0, Reason: fmt.Sprintf("header: bad bucket name %q", name)}
	}
	out.Bucket = string(name)
	return out, nil
}

// Next returns the next record, or io.EOF after a trailer that matches the
// records read. The slices are the caller's.
func (r *Reader) Next() (key, set []byte, err error) {
	if r.done {
		return nil, nil, io.EOF
	}
	start := r.r.n
	damage := func(format string, args ...any) ([]byte, []byte, error) {
		return nil, nil, &DamageError{Offset: start, Reason: fmt.Sprintf(format, args...)}
	}
	rec := &recording{r: r.r}
	tag, err := rec.ReadByte()
	if err != nil {
		return damage("cut short: no trailer after %d records", r.count)
	}
	switch tag {
	case tagTrailer:
		n, err := binary.ReadUvarint(rec)
		sum, err2 := rec.uint32()
		switch {
		case err != nil || err2 != nil:
			return damage("cut short in the trailer")
		case sum != crc32.Checksum(rec.b[:len(rec.b)-4], castagnoli):
			return damage("trailer fails its checksum")
		case n != r.count:
			return damage("trailer counts %d records; the file holds %d", n, r.count)
		}
		r.done = true
		return nil, nil, io.EOF
	case tagRecord:
	default:
		return damage("record tag 0x%02x", tag)
	}
	key, err = rec.bytes(MaxKey)
	if err == nil && len(key) == 0 {
		err = errors.New("empty key")
	}
	if err == nil {
		set, err = rec.bytes(MaxSet)
	}
	if err != nil {
		return damage("record %d: %v", r.count+1, err)
	}
	body := len(rec.b)
	sum, err := rec.uint32()
	if err != nil {
		return damage("record %d cut short", r.count+1)
	}
	if sum != crc32.Checksum(rec.b[:body], castagnoli) {
		return damage("record %d fails its checksum", r.count+1)
	}
	r.count++
	return key, set, nil
}

// countingReader counts the bytes read, for damage offsets.
type countingReader struct {
	r *bufio.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (c *countingReader) ReadByte() (byte, error) {
	b, err := c.r.ReadByte()
	if err == nil {
		c.n++
	}
	return b, err
}

// recording reads from r and keeps the bytes, for the record's checksum.
type recording struct {
	r *countingReader
	b []byte
}

func (x *recording) ReadByte() (byte, error) {
	b, err := x.r.ReadByte()
	if err == nil {
		x.b = append(x.b, b)
	}
	return b, err
}

func (x *recording) bytes(limit int) ([]byte, error) {
	n, err := binary.ReadUvarint(x)
	switch {
	case err != nil:
		return nil, errors.New("cut short in a length")
	case n > uint64(limit):
		return nil, fmt.Errorf("length %d over the bound %d", n, limit)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(x.r, b); err != nil {
		return nil, errors.New("cut short")
	}
	x.b = append(x.b, b...)
	return b, nil
}

func (x *recording) uint32() (uint32, error) {
	var b [4]byte
	if _, err := io.ReadFull(x.r, b[:]); err != nil {
		return 0, err
	}
	x.b = append(x.b, b[:]...)
	return binary.BigEndian.Uint32(b[:]), nil
}
