package wire

import (
	"encoding/binary"
	"errors"
	"testing"
	"time"
)

func TestWriteRequestTTL(t *testing.T) {
	in := WriteRequest{Key: []byte("k"), Value: []byte("v"), ContentType: "text/plain", TTL: 90 * time.Second}
	out, err := DecodeWriteRequest(in.Encode())
	if err != nil || out.TTL != in.TTL || out.Deleted || string(out.Value) != "v" {
		t.Fatalf("round trip: %+v %v", out, err)
	}
	plain, err := DecodeWriteRequest(WriteRequest{Key: []byte("k"), Value: []byte("v")}.Encode())
	if err != nil || plain.TTL != 0 {
		t.Fatalf("no TTL: %+v %v", plain, err)
	}
	// A TTL flag whose duration is zero or beyond MaxTTL is refused (1000
	// ms checks the hand-made encoding itself).
	for _, ms := range []uint64{1000, 0, uint64(MaxTTL.Milliseconds()) + 1} {
		b := appendBytes([]byte{Version}, []byte("k"))
		b = binary.AppendUvarint(b, 1)
		b = append(b, 0)                // empty context
		b = appendBytes(b, nil)         // content type
		b = append(b, writeFlagTTL)     // flags
		b = binary.AppendUvarint(b, ms) // TTL
		b = appendBytes(b, []byte("v")) // value
		m, err := DecodeWriteRequest(b)
		if ms == 1000 {
			if err != nil || m.TTL != time.Second {
				t.Fatalf("hand-made encoding: %+v %v", m, err)
			}
		} else if !errors.Is(err, ErrBadMessage) {
			t.Errorf("TTL of %d ms: %v", ms, err)
		}
	}
}
