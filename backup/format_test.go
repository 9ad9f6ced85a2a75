package backup

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strings"
	"testing"
	"time"
)

type record struct{ key, set string }

func write(t testing.TB, recs []record) []byte {
	t.Helper()
	return writeIn(t, "default", recs)
}

func writeIn(t testing.TB, bucket string, recs []record) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, time.Unix(1700000000, 5), bucket)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if err := w.Add([]byte(r.key), []byte(r.set)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// readAll returns the records read and the error that ended the file (nil
// at a good trailer).
func readAll(b []byte) ([]record, error) {
	r, err := NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	var out []record
	for {
		k, s, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, record{string(k), string(s)})
	}
}

func sample() []record {
	var recs []record
	for i := range 20 {
		recs = append(recs, record{fmt.Sprintf("key/%02d", i), string(bytes.Repeat([]byte{byte(i)}, i*7))})
	}
	return recs
}

func TestRoundTrip(t *testing.T) {
	recs := sample()
	b := write(t, recs)
	r, err := NewReader(bytes.NewReader(b))
	if err != nil || !r.Created.Equal(time.Unix(1700000000, 5)) || r.Bucket != "default" || r.Version != Version {
		t.Fatalf("header: %v, %+v", err, r)
	}
	got, err := readAll(b)
	if err != nil || len(got) != len(recs) {
		t.Fatalf("read %d records, %v; want %d", len(got), err, len(recs))
	}
	for i := range recs {
		if got[i] != recs[i] {
			t.Fatalf("record %d: %q, want %q", i, got[i], recs[i])
		}
	}
	if empty, err := readAll(write(t, nil)); err != nil || len(empty) != 0 {
		t.Fatalf("empty backup: %v %v", empty, err)
	}
}

// A backup cut at any byte is refused as damaged, at or before the cut,
// after returning only whole records.
func TestTruncatedAnywhere(t *testing.T) {
	recs := sample()
	b := write(t, recs)
	for cut := range len(b) {
		got, err := readAll(b[:cut])
		var d *DamageError
		if !errors.As(err, &d) || d.Offset > int64(cut) {
			t.Fatalf("cut at %d: %v; want damage at or before it", cut, err)
		}
		for i, r := range got {
			if r != recs[i] {
				t.Fatalf("cut at %d: record %d is %q", cut, i, r)
			}
		}
	}
}

// A changed byte anywhere after the header fails the record (or trailer)
// holding it; the records before it are returned intact.
func TestDamagedByte(t *testing.T) {
	recs := sample()
	b := write(t, recs)
	for i := len(Magic) + 9; i < len(b); i++ {
		bad := bytes.Clone(b)
		bad[i] ^= 0x40
		got, err := readAll(bad)
		var d *DamageError
		if !errors.As(err, &d) || d.Offset > int64(i) {
			t.Fatalf("byte %d changed: %v; want damage at or before it", i, err)
		}
		for j, r := range got {
			if r != recs[j] {
				t.Fatalf("byte %d changed: record %d is %q", i, j, r)
			}
		}
	}
	for name, b := range map[string][]byte{
		"not a backup": []byte("hello, world, not a backup file"),
		"version 9":    append([]byte(Magic), 9, 0, 0, 0, 0, 0, 0, 0, 0),
		"empty":        nil,
	} {
		if _, err := readAll(b); err == nil {
			t.Errorf("%s: read without error", name)
		}
	}
}

// asVersion1 rewrites a backup of the default bucket as the format
// before buckets wrote it: the same records after a header without bucket
// or checksum.
func asVersion1(t testing.TB, b []byte) []byte {
	t.Helper()
	r, err := NewReader(bytes.NewReader(b))
	if err != nil || r.Bucket != "default" {
		t.Fatalf("not a backup of the default bucket: %v", err)
	}
	headerLen := len(Magic) + 1 + 8 + 1 + len("default") + 4
	old := append([]byte(Magic), version1)
	old = append(old, b[len(Magic)+1:len(Magic)+9]...)
	return append(old, b[headerLen:]...)
}

// TestBucketRecorded: the header names the bucket; a file from before
// buckets reads as the default bucket's, records and all.
func TestBucketRecorded(t *testing.T) {
	recs := sample()
	b := writeIn(t, "carts.v2", recs)
	r, err := NewReader(bytes.NewReader(b))
	if err != nil || r.Bucket != "carts.v2" {
		t.Fatalf("header: %v, bucket %q", err, r.Bucket)
	}
	if got, err := readAll(b); err != nil || len(got) != len(recs) {
		t.Fatalf("read %d records, %v", len(got), err)
	}
	old := asVersion1(t, write(t, recs))
	r, err = NewReader(bytes.NewReader(old))
	if err != nil || r.Bucket != "default" || r.Version != 1 || !r.Created.Equal(time.Unix(1700000000, 5)) {
		t.Fatalf("version 1 header: %v, %+v", err, r)
	}
	got, err := readAll(old)
	if err != nil || len(got) != len(recs) || got[3] != recs[3] {
		t.Fatalf("version 1: read %d records, %v", len(got), err)
	}
	for _, name := range []string{"", "Carts", "-x", string(make([]byte, 65))} {
		if _, err := NewWriter(io.Discard, time.Now(), name); err == nil {
			t.Errorf("NewWriter took the bucket name %q", name)
		}
	}
	// A name no writer makes, with a checksum that holds, is still refused.
	h := append([]byte(Magic), Version)
	h = append(h, make([]byte, 8)...)
	h = append(h, 1, 'A')
	h = binary.BigEndian.AppendUint32(h, crc32.Checksum(h, castagnoli))
	var d *DamageError
	if _, err := NewReader(bytes.NewReader(h)); !errors.As(err, &d) || !strings.Contains(err.Error(), "bucket name") {
		t.Errorf("header naming bucket \"A\": %v", err)
	}
}

func FuzzReader(f *testing.F) {
	f.Add(write(f, sample()))
	f.Add(writeIn(f, "carts", sample()[:3]))
	f.Add(asVersion1(f, write(f, sample())))
	f.Add(write(f, nil))
	f.Add([]byte(Magic))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := readAll(b)
		var d *DamageError
		if err != nil && !errors.As(err, &d) {
			t.Fatalf("error %v is not a *DamageError", err)
		}
		if err != nil && (d.Offset < 0 || d.Offset > int64(len(b))) {
			t.Fatalf("damage offset %d outside the file of %d bytes", d.Offset, len(b))
		}
		if err == nil {
			// What reads whole, written again, reads the same.
			back, err := readAll(write(t, got))
			if err != nil || len(back) != len(got) {
				t.Fatalf("rewritten: %d records, %v; want %d", len(back), err, len(got))
			}
			for i := range got {
				if back[i] != got[i] {
					t.Fatalf("rewritten record %d: %q, want %q", i, back[i], got[i])
				}
			}
		}
	})
}
