package wire

// OpStatus asks a node for its own report, the document GET
// /cluster/status?scope=local serves, so that the node a client (or the
// dashboard's browser) asked can show the whole cluster from one request.
// Peers only: the internode listener authenticates them.
const OpStatus Op = "status"

// MaxStatusBytes bounds a status answer: a report is a few kilobytes, and
// one from a hostile or broken peer must not make this node buffer more.
const MaxStatusBytes = 1 << 20

// StatusRequest carries nothing but the version.
type StatusRequest struct{}

// StatusResponse carries the report as its JSON document: the report is
// the client API's, and a second encoding of every field would drift from
// it.
type StatusResponse struct{ JSON []byte }

func (StatusRequest) Encode() []byte { return []byte{Version} }

func DecodeStatusRequest(b []byte) (StatusRequest, error) {
	return StatusRequest{}, newReader(b).finish()
}

func (m StatusResponse) Encode() []byte { return appendBytes(wireBuf(len(m.JSON)+10), m.JSON) }

func DecodeStatusResponse(b []byte) (StatusResponse, error) {
	r := newReader(b)
	m := StatusResponse{JSON: r.bytes()}
	if r.err == nil && len(m.JSON) > MaxStatusBytes {
		r.fail("status of %d bytes, over %d", len(m.JSON), MaxStatusBytes)
	}
	return m, r.finish()
}
