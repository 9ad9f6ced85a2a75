package transport

import (
	"bufio"
	"bytes"
	"errors"
	"testing"

	"github.com/dynkv/dynkv/node/internal/wire"
)

// FuzzFrameDecode feeds arbitrary bytes to the frame decoder, as a
// hostile or broken peer would: it must never panic or allocate beyond
// the bound, a frame it accepts must encode back to the bytes it took, and
// the stream reader must agree with the pure decoder.
func FuzzFrameDecode(f *testing.F) {
	f.Add(appendFrame(nil, frameRequest, 1, wire.OpRead, []byte("key")))
	f.Add(appendFrame(appendFrame(nil, frameAnswer, 9, "", []byte{1, 2}), frameRefusal, 9, "", nil))
	bad := appendFrame(nil, frameRequest, 3, wire.OpMerge, nil)
	bad[4] = 2
	f.Add(bad)
	f.Add([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"))
	const maxBody = 1 << 16
	f.Fuzz(func(t *testing.T, data []byte) {
		rest := data
		br := bufio.NewReader(bytes.NewReader(data))
		for len(rest) > 0 {
			fr, n, err := decodeFrame(rest, maxBody)
			sfr, serr := readFrame(br, maxBody)
			if err != nil {
				var verr errFrameVersion
				if !errors.Is(err, errFrameMalformed) && !errors.As(err, &verr) {
					t.Fatalf("decode error of an unknown kind: %v", err)
				}
				if serr == nil {
					t.Fatalf("stream reader accepted what the decoder refused (%v)", err)
				}
				return
			}
			if serr != nil || sfr.id != fr.id || sfr.op != fr.op || !bytes.Equal(sfr.body, fr.body) {
				t.Fatalf("stream reader %+v %v, decoder %+v", sfr, serr, fr)
			}
			if len(fr.body) > maxBody {
				t.Fatalf("accepted a body of %d bytes over the bound", len(fr.body))
			}
			if re := appendFrame(nil, fr.kind, fr.id, fr.op, fr.body); !bytes.Equal(re, rest[:n]) {
				t.Fatalf("frame does not encode back: %x, took %x", re, rest[:n])
			}
			if frameLen(fr.op, fr.body) != n {
				t.Fatalf("frameLen %d, took %d", frameLen(fr.op, fr.body), n)
			}
			rest = rest[n:]
		}
	})
}
