package wire

import (
	"bytes"
	"testing"

	"github.com/dynkv/dynkv/vclock"
)

func TestWireRoundTrips(t *testing.T) {
	s := sampleSet()
	w := WriteRequest{Key: []byte("k"), Context: s.Context, Value: []byte("v"), ContentType: "a/b", Deleted: true}
	got, err := DecodeWriteRequest(w.Encode())
	if err != nil || !bytes.Equal(got.Key, w.Key) || !got.Context.Equal(w.Context) || !bytes.Equal(got.Value, w.Value) || got.ContentType != w.ContentType || !got.Deleted {
		t.Fatalf("write request: %+v %v", got, err)
	}
	wr := WriteResponse{Dot: s.Siblings[0].Dot, Set: s}
	gotWR, err := DecodeWriteResponse(wr.Encode())
	if err != nil || gotWR.Dot != wr.Dot || !gotWR.Set.Equal(s) {
		t.Fatalf("write response: %+v %v", gotWR, err)
	}
	m, err := DecodeMergeRequest(MergeRequest{Key: []byte("k"), Set: s}.Encode())
	if err != nil || !m.Set.Equal(s) {
		t.Fatalf("merge: %v", err)
	}
	if _, err := DecodeWriteResponse(WriteResponse{Dot: vclock.Dot{Actor: "zz", Counter: 9}, Set: s}.Encode()); err == nil {
		t.Fatal("a minted dot outside the set must be refused")
	}
	if e := DecodeRemoteError(EncodeRemoteError(&RemoteError{Code: "c", Message: "m"})); e.Code != "c" || e.Message != "m" {
		t.Fatalf("remote error: %+v", e)
	}
}

// FuzzWireDecoders: no decoder panics or hangs on any input, and what
// decodes re-encodes to something that decodes to the same message.
func FuzzWireDecoders(f *testing.F) {
	for _, b := range SampleMessages() {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if m, err := DecodeReadRequest(b); err == nil {
			if !bytes.Equal(m.Encode(), b) {
				t.Fatal("read request not canonical")
			}
		}
		if m, err := DecodeReadResponse(b); err == nil {
			if _, err := DecodeReadResponse(m.Encode()); err != nil {
				t.Fatal(err)
			}
		}
		if m, err := DecodeWriteRequest(b); err == nil {
			if _, err := DecodeWriteRequest(m.Encode()); err != nil {
				t.Fatal(err)
			}
		}
		if m, err := DecodeWriteResponse(b); err == nil {
			if _, err := DecodeWriteResponse(m.Encode()); err != nil {
				t.Fatal(err)
			}
		}
		if m, err := DecodeMergeRequest(b); err == nil {
			if _, err := DecodeMergeRequest(m.Encode()); err != nil {
				t.Fatal(err)
			}
		}
		if m, err := DecodeListRequest(b); err == nil && !bytes.Equal(m.Encode(), b) {
			t.Fatal("list request not canonical")
		}
		if m, err := DecodeListResponse(b); err == nil && !bytes.Equal(m.Encode(), b) {
			t.Fatal("list response not canonical")
		}
		if m, err := DecodeStatusRequest(b); err == nil && !bytes.Equal(m.Encode(), b) {
			t.Fatal("status request not canonical")
		}
		if m, err := DecodeStatusResponse(b); err == nil && !bytes.Equal(m.Encode(), b) {
			t.Fatal("status response not canonical")
		}
		if m, err := DecodeBucketsGetRequest(b); err == nil && !bytes.Equal(m.Encode(), b) {
			t.Fatal("buckets-get request not canonical")
		}
		if m, err := DecodeBucketsMessage(b); err == nil {
			// The JSON inside may be spaced or ordered otherwise; what it
			// decodes to re-encodes canonically to the same registry.
			again, err := DecodeBucketsMessage(m.Encode())
			if err != nil || !again.Registry.Equal(m.Registry) {
				t.Fatalf("buckets message does not round-trip: %v", err)
			}
		}
		_ = DecodeRemoteError(b)
		if m, err := DecodeTreeRequest(b); err == nil {
			if !bytes.Equal(m.Encode(), b) {
				t.Fatal("tree request not canonical")
			}
		}
		if target, inner, err := SplitHinted(b); err == nil {
			if !bytes.Equal(EncodeHinted(target, inner), b) {
				t.Fatal("hinted wrapper not canonical")
			}
		}
	})
}

// TestEncodeMergeMatchesMergeRequest: the hand-off paths send sets as the
// store holds them; the bytes must be a MergeRequest's.
func TestEncodeMergeMatchesMergeRequest(t *testing.T) {
	s := sampleSet()
	if got, want := EncodeMerge([]byte("k"), s.Encode()), (MergeRequest{Key: []byte("k"), Set: s}).Encode(); !bytes.Equal(got, want) {
		t.Fatalf("EncodeMerge = %x, want %x", got, want)
	}
}

// A registry crosses the wire unchanged; a damaged one is refused.
func TestBucketsMessages(t *testing.T) {
	reg := sampleRegistry()
	got, err := DecodeBucketsMessage(BucketsMessage{Registry: reg}.Encode())
	if err != nil || !got.Registry.Equal(reg) {
		t.Fatalf("round trip: %v", err)
	}
	for _, bad := range [][]byte{
		appendBytes([]byte{Version}, []byte(`{"buckets":{"x":{"props":{"n":99},"version":{"counter":1,"node":"n1"}}}}`)),
		appendBytes([]byte{Version}, []byte(`{"buckets":{"Bad":{"props":{},"version":{"counter":1,"node":"n1"}}}}`)),
		appendBytes([]byte{Version}, []byte(`{"buckets":{},"extra":1}`)),
		append(BucketsMessage{Registry: reg}.Encode(), 0),
		{Version},
	} {
		if _, err := DecodeBucketsMessage(bad); err == nil {
			t.Errorf("decoded %q", bad)
		}
	}
	if _, err := DecodeBucketsGetRequest([]byte{Version, 0}); err == nil {
		t.Error("get request with trailing bytes decoded")
	}
}
