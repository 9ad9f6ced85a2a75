package wire

import (
	"time"

	"github.com/dynkv/dynkv/bucket"

	"github.com/dynkv/dynkv/vclock"
)

func sampleSet() vclock.Set {
	var s vclock.Set
	s, _ = s.Write("n1.aaaa", vclock.Context{}, vclock.Sibling{Value: []byte("v"), ContentType: "text/plain"})
	s, _ = s.Write("n2.bbbb", vclock.Context{}, vclock.Sibling{Deleted: true})
	s, _ = s.Write("n3.cccc", vclock.Context{}, vclock.Sibling{Value: []byte("t"), Modified: 1700000000000, Expires: 1700000002000})
	return s
}

func sampleRegistry() bucket.Registry {
	reg, _, _ := bucket.Registry{}.Set("carts", bucket.Props{N: 2, W: 2, Conflict: bucket.LWW, DefaultTTL: bucket.Duration(time.Hour)}, "n1")
	reg, _, _ = reg.Set("logs", bucket.Props{MaxSiblings: 3}, "n2")
	return reg
}

// SampleMessages returns one well-formed message of every kind plus a few
// malformed ones: the seed corpus of every fuzzer that decodes internode
// input (this package's and the handlers').
func SampleMessages() [][]byte {
	s := sampleSet()
	dot := s.Siblings[0].Dot
	return [][]byte{
		ReadRequest{Key: []byte("k")}.Encode(),
		ReadResponse{Set: s}.Encode(),
		WriteRequest{Key: []byte("k"), Context: s.Context, Value: []byte("v"), ContentType: "a/b", Deleted: true}.Encode(),
		WriteRequest{Key: []byte("k"), Context: s.Context, Value: []byte("v"), ContentType: "a/b", TTL: 1500 * time.Millisecond}.Encode(),
		WriteResponse{Dot: dot, Set: s}.Encode(),
		MergeRequest{Key: []byte("k"), Set: s}.Encode(),
		EncodeRemoteError(&RemoteError{Code: "x", Message: "y"}),
		TreeRequest{Partition: 7, Level: 1, Indexes: []int{0, 3, 31}}.Encode(),
		TreeRequest{Partition: 7, Level: 1, Indexes: []int{0, 3, 31}, N: 2}.Encode(),
		EncodeHinted("n2", ReadRequest{Key: []byte("k")}.Encode()),
		ListRequest{Partition: 9, Prefix: []byte("user"), After: []byte("user1"), Limit: 100}.Encode(),
		ListResponse{Keys: [][]byte{[]byte("a"), []byte("b")}, More: true}.Encode(),
		StatusRequest{}.Encode(),
		StatusResponse{JSON: []byte(`{"node":"n1"}`)}.Encode(),
		BucketsGetRequest{}.Encode(),
		BucketsMessage{Registry: sampleRegistry()}.Encode(),
		BucketsMessage{}.Encode(),
		{}, {Version}, {2, 1, 'k'},
	}
}
