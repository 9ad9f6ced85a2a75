package node

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/dynkv/dynkv/node/membership"
)

// The gossip keyring routes: GET /admin/keyring lists the cluster's keys
// by fingerprint; POST /admin/keyring/{install,use,remove} with
// {"key": "<base64>"} changes every member's keyring. Keys are accepted,
// never returned, logged or quoted in an error.

// Codes of the keyring routes.
const (
	CodeGossipNotEncrypted = "gossip_not_encrypted"
	CodeKeyringIncomplete  = "keyring_incomplete"
	CodeRequestTooLarge    = "request_too_large"
)

// maxKeyringBody bounds a keyring request: a 32-byte key in base64 and
// its JSON are under 100 bytes.
const maxKeyringBody = 4 << 10

// keyringTimeout bounds one keyring call. serf's query ends by itself
// (3.2 s on a LAN of up to 9 members, 6.4 s up to 99), and waiting longer
// than it is what lets a slow member's failure be reported by name.
const keyringTimeout = 30 * time.Second

type gossipKeyJSON struct {
	Fingerprint string `json:"fingerprint"`
	// Nodes hold the key; PrimaryNodes encrypt with it.
	Nodes        int `json:"nodes"`
	PrimaryNodes int `json:"primary_nodes"`
}

type keyringJSON struct {
	Node     string            `json:"node"`
	Op       string            `json:"op,omitempty"`
	Key      string            `json:"fingerprint,omitempty"`
	Keys     []gossipKeyJSON   `json:"keys,omitempty"`
	Nodes    int               `json:"nodes"`
	Answered int               `json:"answered"`
	Errors   map[string]string `json:"errors,omitempty"`
}

// serveKeyring routes /admin/keyring....
func (n *Node) serveKeyring(rc *fasthttp.RequestCtx, method, path string) {
	var op string
	switch path {
	case "/admin/keyring":
		if !allow(rc, method, fasthttp.MethodGet) {
			return
		}
	case "/admin/keyring/install", "/admin/keyring/use", "/admin/keyring/remove":
		if !allow(rc, method, fasthttp.MethodPost) {
			return
		}
		op = path[len("/admin/keyring/"):]
	default:
		notFound(rc, path)
		return
	}
	kr, ok := n.membership.(membership.Keyring)
	if !ok {
		writeKeyringError(rc, membership.ErrGossipNotEncrypted)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), keyringTimeout)
	defer cancel()
	if op == "" {
		n.listKeyring(ctx, rc, kr)
		return
	}
	n.changeKeyring(ctx, rc, kr, op)
}

func (n *Node) listKeyring(ctx context.Context, rc *fasthttp.RequestCtx, kr membership.Keyring) {
	st, err := kr.ListKeys(ctx)
	// Members that failed are listed in the answer: the keys of those that
	// did answer are still what an operator needs to see.
	var partial *membership.KeyringError
	if err != nil && !errors.As(err, &partial) {
		writeKeyringError(rc, err)
		return
	}
	out := keyringJSON{Node: n.cfg.NodeID, Nodes: st.Nodes, Answered: st.Answered, Errors: st.Errors, Keys: []gossipKeyJSON{}}
	for _, fp := range slices.Sorted(maps.Keys(st.Keys)) {
		out.Keys = append(out.Keys, gossipKeyJSON{Fingerprint: fp, Nodes: st.Keys[fp], PrimaryNodes: st.PrimaryKeys[fp]})
	}
	writeJSON(rc, http.StatusOK, out)
}

func (n *Node) changeKeyring(ctx context.Context, rc *fasthttp.RequestCtx, kr membership.Keyring, op string) {
	b64, key, apiErr := parseKeyringBody(rc.PostBody())
	if apiErr != nil {
		writeError(rc, apiErr)
		return
	}
	call := map[string]func(context.Context, string) (membership.KeyringResult, error){
		"install": kr.InstallKey, "use": kr.UseKey, "remove": kr.RemoveKey,
	}[op]
	fp := membership.KeyFingerprint(key)
	res, err := call(ctx, b64)
	if err != nil {
		n.log.Warn("gossip keyring change failed", "op", op, "fingerprint", fp, "err", err)
		writeKeyringError(rc, err)
		return
	}
	n.log.Info("gossip keyring changed", "op", op, "fingerprint", fp, "nodes", res.Nodes)
	writeJSON(rc, http.StatusOK, keyringJSON{Node: n.cfg.NodeID, Op: op, Key: fp, Nodes: res.Nodes, Answered: res.Answered, Errors: res.Errors})
}

// parseKeyringBody reads {"key": "<base64>"}. Its errors never quote the
// body, which holds a key.
func parseKeyringBody(body []byte) (string, []byte, *APIError) {
	if len(body) > maxKeyringBody {
		return "", nil, &APIError{Status: http.StatusRequestEntityTooLarge, Code: CodeRequestTooLarge,
			Message: fmt.Sprintf("a keyring request is at most %d bytes", maxKeyringBody)}
	}
	var req struct {
		Key string `json:"key"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || dec.More() || req.Key == "" {
		return "", nil, badRequest(CodeBadRequest, `want a JSON body {"key": "<base64 key>"}`)
	}
	key, err := membership.DecodeGossipKey(strings.TrimSpace(req.Key))
	if err != nil {
		return "", nil, badRequest(CodeBadRequest, "%v", err)
	}
	return strings.TrimSpace(req.Key), key, nil
}

// writeKeyringError answers a failed keyring call: 409 without
// encryption, 502 naming the members that failed, 504 on the deadline.
func writeKeyringError(rc *fasthttp.RequestCtx, err error) {
	var ke *membership.KeyringError
	switch {
	case errors.Is(err, membership.ErrGossipNotEncrypted):
		writeError(rc, &APIError{Status: http.StatusConflict, Code: CodeGossipNotEncrypted,
			Message: "gossip is not encrypted: start every node with --gossip-key-file"})
	case errors.As(err, &ke):
		writeErrorWith(rc, &APIError{Status: http.StatusBadGateway, Code: CodeKeyringIncomplete, Message: ke.Error()},
			map[string]any{"nodes": ke.Nodes, "answered": ke.Answered, "errors": ke.Errors})
	case errors.Is(err, context.DeadlineExceeded):
		writeError(rc, &APIError{Status: http.StatusGatewayTimeout, Code: CodeTimeout, Message: err.Error()})
	default:
		writeError(rc, err)
	}
}
