package wire

import "encoding/binary"

// OpList asks a replica for the live keys of one partition, in key order:
// the key listing (GET /kv) covers every partition with one call per page
// to one replica of it.
const OpList Op = "list"

// MaxListKeys bounds the keys of one list request and answer.
const MaxListKeys = 10_000

// ListRequest asks for at most Limit live keys of Partition that start
// with Prefix and sort after After (all of them when After is empty).
type ListRequest struct {
	Partition     int
	Prefix, After []byte
	Limit         int
}

// ListResponse holds keys in ascending order; More says the partition has
// further matching keys after the last one.
type ListResponse struct {
	Keys [][]byte
	More bool
}

func (m ListRequest) Encode() []byte {
	b := binary.AppendUvarint([]byte{Version}, uint64(m.Partition))
	b = appendBytes(b, m.Prefix)
	b = appendBytes(b, m.After)
	return binary.AppendUvarint(b, uint64(m.Limit))
}

func DecodeListRequest(b []byte) (ListRequest, error) {
	r := newReader(b)
	m := ListRequest{Partition: int(r.bounded(1<<16, "partition"))}
	m.Prefix = r.bytes()
	m.After = r.bytes()
	m.Limit = int(r.bounded(MaxListKeys+1, "limit"))
	if r.err == nil && (len(m.Prefix) > MaxKeyLen || len(m.After) > MaxKeyLen) {
		r.fail("prefix or after longer than a key")
	}
	if r.err == nil && m.Limit == 0 {
		r.fail("limit 0")
	}
	return m, r.finish()
}

func (m ListResponse) Encode() []byte {
	b := binary.AppendUvarint([]byte{Version}, uint64(len(m.Keys)))
	for _, k := range m.Keys {
		b = appendBytes(b, k)
	}
	more := byte(0)
	if m.More {
		more = 1
	}
	return append(b, more)
}

func DecodeListResponse(b []byte) (ListResponse, error) {
	r := newReader(b)
	n := r.bounded(MaxListKeys+1, "key count")
	if r.err == nil && n > uint64(len(r.buf)) {
		r.fail("key count %d exceeds remaining input", n)
	}
	var m ListResponse
	for i := uint64(0); i < n && r.err == nil; i++ {
		m.Keys = append(m.Keys, r.key())
	}
	switch more := r.byte(); {
	case r.err != nil:
	case more > 1:
		r.fail("more flag %d", more)
	default:
		m.More = more == 1
	}
	return m, r.finish()
}
