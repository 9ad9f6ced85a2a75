package wire

import (
	"encoding/binary"
	"errors"
	"slices"
	"testing"

	"github.com/dynkv/dynkv/bucket"
)

// A tree request's class is an optional trailing field: absent is the
// default class (what a node from before buckets sends), a written 0 or a
// class above bucket.MaxN is refused, and every class round-trips.
func TestTreeRequestClass(t *testing.T) {
	old := TreeRequest{Partition: 3, Level: 1, Indexes: []int{2, 5}}
	legacy := binary.AppendUvarint([]byte{Version}, 3)
	legacy = binary.AppendUvarint(legacy, 1)
	legacy = binary.AppendUvarint(legacy, 2)
	legacy = binary.AppendUvarint(legacy, 2)
	legacy = binary.AppendUvarint(legacy, 5)
	if got := old.Encode(); !slices.Equal(got, legacy) {
		t.Fatalf("a default-class request is not the old encoding: %x, want %x", got, legacy)
	}
	if m, err := DecodeTreeRequest(legacy); err != nil || m.N != 0 || m.Partition != 3 || !slices.Equal(m.Indexes, old.Indexes) {
		t.Fatalf("old encoding: %+v %v", m, err)
	}
	for n := 1; n <= bucket.MaxN; n++ {
		req := old
		req.N = n
		if m, err := DecodeTreeRequest(req.Encode()); err != nil || m.N != n || m.Level != 1 {
			t.Fatalf("class %d: %+v %v", n, m, err)
		}
	}
	for _, n := range []uint64{0, bucket.MaxN + 1, 1 << 40} {
		if _, err := DecodeTreeRequest(binary.AppendUvarint(legacy, n)); !errors.Is(err, ErrBadMessage) {
			t.Fatalf("class %d accepted: %v", n, err)
		}
	}
	if _, err := DecodeTreeRequest(append(binary.AppendUvarint(legacy, 2), 0)); !errors.Is(err, ErrBadMessage) {
		t.Fatal("a byte after the class accepted")
	}
}
