package node

import (
	"bytes"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/dynkv/dynkv/vclock"
)

func sampleSet() vclock.Set {
	var s vclock.Set
	s, _ = s.Write("n1.aaaa", vclock.Context{}, vclock.Sibling{Value: []byte("v"), ContentType: "text/plain"})
	s, _ = s.Write("n2.bbbb", vclock.Context{}, vclock.Sibling{Deleted: true})
	return s
}

func wireSeeds() [][]byte {
	s := sampleSet()
	dot := s.Siblings[0].Dot
	return [][]byte{
		readRequest{Key: []byte("k")}.encode(),
		readResponse{Set: s}.encode(),
		writeRequest{Key: []byte("k"), Context: s.Context, Value: []byte("v"), ContentType: "a/b", Deleted: true}.encode(),
		writeResponse{Dot: dot, Set: s}.encode(),
		mergeRequest{Key: []byte("k"), Set: s}.encode(),
		encodeRemoteError(&RemoteError{Code: "x", Message: "y"}),
		treeRequest{Partition: 7, Level: 1, Indexes: []int{0, 3, 31}}.encode(),
		encodeHinted("n2", readRequest{Key: []byte("k")}.encode()),
		{}, {wireVersion}, {2, 1, 'k'},
	}
}

func TestWireRoundTrips(t *testing.T) {
	s := sampleSet()
	w := writeRequest{Key: []byte("k"), Context: s.Context, Value: []byte("v"), ContentType: "a/b", Deleted: true}
	got, err := decodeWriteRequest(w.encode())
	if err != nil || !bytes.Equal(got.Key, w.Key) || !got.Context.Equal(w.Context) || !bytes.Equal(got.Value, w.Value) || got.ContentType != w.ContentType || !got.Deleted {
		t.Fatalf("write request: %+v %v", got, err)
	}
	wr := writeResponse{Dot: s.Siblings[0].Dot, Set: s}
	gotWR, err := decodeWriteResponse(wr.encode())
	if err != nil || gotWR.Dot != wr.Dot || !gotWR.Set.Equal(s) {
		t.Fatalf("write response: %+v %v", gotWR, err)
	}
	m, err := decodeMergeRequest(mergeRequest{Key: []byte("k"), Set: s}.encode())
	if err != nil || !m.Set.Equal(s) {
		t.Fatalf("merge: %v", err)
	}
	if _, err := decodeWriteResponse(writeResponse{Dot: vclock.Dot{Actor: "zz", Counter: 9}, Set: s}.encode()); err == nil {
		t.Fatal("a minted dot outside the set must be refused")
	}
	if e := decodeRemoteError(encodeRemoteError(&RemoteError{Code: "c", Message: "m"})); e.Code != "c" || e.Message != "m" {
		t.Fatalf("remote error: %+v", e)
	}
}

// FuzzWireDecoders: no decoder panics or hangs on any input, and what
// decodes re-encodes to something that decodes to the same message.
func FuzzWireDecoders(f *testing.F) {
	for _, b := range wireSeeds() {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if m, err := decodeReadRequest(b); err == nil {
			if !bytes.Equal(m.encode(), b) {
				t.Fatal("read request not canonical")
			}
		}
		if m, err := decodeReadResponse(b); err == nil {
			if _, err := decodeReadResponse(m.encode()); err != nil {
				t.Fatal(err)
			}
		}
		if m, err := decodeWriteRequest(b); err == nil {
			if _, err := decodeWriteRequest(m.encode()); err != nil {
				t.Fatal(err)
			}
		}
		if m, err := decodeWriteResponse(b); err == nil {
			if _, err := decodeWriteResponse(m.encode()); err != nil {
				t.Fatal(err)
			}
		}
		if m, err := decodeMergeRequest(b); err == nil {
			if _, err := decodeMergeRequest(m.encode()); err != nil {
				t.Fatal(err)
			}
		}
		_ = decodeRemoteError(b)
		if m, err := decodeTreeRequest(b); err == nil {
			if !bytes.Equal(m.encode(), b) {
				t.Fatal("tree request not canonical")
			}
		}
		if target, inner, err := splitHinted(b); err == nil {
			if !bytes.Equal(encodeHinted(target, inner), b) {
				t.Fatal("hinted wrapper not canonical")
			}
		}
	})
}

// FuzzHandleInternode: a peer's malformed request is refused with an error
// and never crashes the node or writes anything.
func FuzzHandleInternode(f *testing.F) {
	for _, b := range wireSeeds() {
		for _, op := range []Op{OpRead, OpWrite, OpMerge, OpHintRead, OpHintWrite, OpHintMerge, OpTreeChildren, OpTreeEntries, OpReap, "bogus"} {
			f.Add(string(op), b)
		}
	}
	c := startCluster(f, LocalClusterOptions{Nodes: 1, Configure: func(i int, cfg *Config) {
		cfg.Ring.N, cfg.R, cfg.W = 1, 1, 1
	}})
	n := c.Node(0)
	f.Fuzz(func(t *testing.T, op string, b []byte) {
		out, err := n.HandleInternode(t.Context(), Op(op), b)
		if err != nil {
			return
		}
		// Accepted: it must have been a well-formed message.
		switch Op(op) {
		case OpRead:
			if _, err := decodeReadResponse(out); err != nil {
				t.Fatalf("read answered undecodably: %v", err)
			}
		case OpWrite:
			if _, err := decodeWriteRequest(b); err != nil {
				t.Fatalf("malformed write accepted: %v", err)
			}
		case OpMerge:
			if _, err := decodeMergeRequest(b); err != nil {
				t.Fatalf("malformed merge accepted: %v", err)
			}
		case OpHintRead, OpHintWrite, OpHintMerge:
			if _, _, err := splitHinted(b); err != nil {
				t.Fatalf("malformed hinted request accepted: %v", err)
			}
		case OpTreeChildren, OpTreeEntries:
			if _, err := decodeTreeRequest(b); err != nil {
				t.Fatalf("malformed tree request accepted: %v", err)
			}
		case OpReap:
			if _, err := decodeMergeRequest(b); err != nil {
				t.Fatalf("malformed reap accepted: %v", err)
			}
		default:
			t.Fatalf("unknown op %q accepted", op)
		}
	})
}

// FuzzServeHTTP: any method, path, header and body get an answer, never a
// panic; malformed ones get a 4xx.
func FuzzServeHTTP(f *testing.F) {
	f.Add("GET", "/kv/a", "", []byte(nil))
	f.Add("PUT", "/kv/a%2Fb?w=all", "AQ", []byte("v"))
	f.Add("DELETE", "/kv/%zz", "!!", []byte(nil))
	f.Add("GET", "/cluster/ring?key=", "", []byte(nil))
	f.Add("POST", "/internal/v1/write", "", []byte{1, 1})
	f.Add("GET", "/admin/local/", "", []byte(nil))
	c := startCluster(f, LocalClusterOptions{Nodes: 1, Configure: func(i int, cfg *Config) {
		cfg.Ring.N, cfg.R, cfg.W = 1, 1, 1
	}})
	n := c.Node(0)
	f.Fuzz(func(t *testing.T, method, path, ctxHeader string, body []byte) {
		var rc fasthttp.RequestCtx
		rc.Request.Header.SetMethod(method)
		rc.Request.SetRequestURI(path)
		rc.Request.Header.Set(HeaderContext, ctxHeader)
		rc.Request.SetBody(body)
		n.ServeHTTP(&rc)
		if rc.Response.StatusCode() >= 500 {
			t.Fatalf("%s %q: status %d: %s", method, path, rc.Response.StatusCode(), rc.Response.Body())
		}
	})
}
