package wire

import (
	"fmt"
	"testing"

	"github.com/dynkv/dynkv/vclock"
)

// BenchmarkWireCodec encodes and decodes the internode messages of the hot
// path for a key with one sibling of 1 KiB: a client write sent to the
// replica that mints it, the merge sent to the others, a read's answer.
func BenchmarkWireCodec(b *testing.B) {
	var set vclock.Set
	set, dot := set.Write("n1.0011223344556677", vclock.Context{}, vclock.Sibling{Value: make([]byte, 1024), ContentType: "application/octet-stream"})
	key := []byte("user/42")
	msgs := []struct {
		name   string
		encode func() []byte
		decode func([]byte) error
	}{
		{"write", WriteRequest{Key: key, Context: set.Context, Value: make([]byte, 1024), ContentType: "application/octet-stream"}.Encode,
			func(b []byte) error { _, err := DecodeWriteRequest(b); return err }},
		{"write-response", WriteResponse{Dot: dot, Set: set}.Encode,
			func(b []byte) error { _, err := DecodeWriteResponse(b); return err }},
		{"merge", MergeRequest{Key: key, Set: set}.Encode,
			func(b []byte) error { _, err := DecodeMergeRequest(b); return err }},
		{"read-response", ReadResponse{Set: set}.Encode,
			func(b []byte) error { _, err := DecodeReadResponse(b); return err }},
	}
	for _, m := range msgs {
		b.Run(fmt.Sprintf("encode/%s", m.name), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = m.encode()
			}
		})
		enc := m.encode()
		b.Run(fmt.Sprintf("decode/%s", m.name), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := m.decode(enc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
