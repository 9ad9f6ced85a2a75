package vclock

import (
	"fmt"
	"testing"
)

func benchSet(siblings int) Set {
	var s Set
	for i := range siblings {
		s, _ = s.Write(fmt.Sprintf("node-%d.0011223344", i%5), Context{}, Sibling{Value: make([]byte, 1024), ContentType: "application/octet-stream"})
	}
	return s
}

func BenchmarkWrite(b *testing.B) {
	s := benchSet(1)
	v := Sibling{Value: make([]byte, 1024)}
	b.ReportAllocs()
	for b.Loop() {
		_, _ = s.Write("node-1.0011223344", s.Context, v)
	}
}

func BenchmarkMerge(b *testing.B) {
	for _, n := range []int{1, 3, 10} {
		x, y := benchSet(n), benchSet(n+1)
		b.Run(fmt.Sprintf("siblings=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = x.Merge(y)
			}
		})
	}
}

func BenchmarkEncode(b *testing.B) {
	s := benchSet(3)
	buf := make([]byte, 0, 8192)
	b.ReportAllocs()
	for b.Loop() {
		buf = s.AppendBinary(buf[:0])
	}
}

// BenchmarkEncodeFresh is Encode as the node calls it: into a new buffer.
func BenchmarkEncodeFresh(b *testing.B) {
	s := benchSet(3)
	b.ReportAllocs()
	for b.Loop() {
		_ = s.Encode()
	}
}

func BenchmarkDecode(b *testing.B) {
	enc := benchSet(3).Encode()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeSet(enc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkToken(b *testing.B) {
	tok := benchSet(3).Context.Token()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseToken(tok); err != nil {
			b.Fatal(err)
		}
	}
}
