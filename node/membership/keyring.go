package membership

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/hashicorp/serf/serf"
)

// ErrGossipNotEncrypted: the node gossips in the clear (no keyring file),
// so there is no keyring to list or change.
var ErrGossipNotEncrypted = errors.New("gossip is not encrypted: start the nodes with a keyring file")

// Keyring is the gossip key management a Membership may offer; the node
// checks for it with a type assertion, so memberships without encryption
// (StaticMembership) need nothing. Every call asks every member and waits
// for their answers (or serf's query timeout).
type Keyring interface {
	ListKeys(ctx context.Context) (KeyringStatus, error)
	// InstallKey, UseKey and RemoveKey take a base64 key. They succeed only
	// if every member applied the change.
	InstallKey(ctx context.Context, b64Key string) (KeyringResult, error)
	UseKey(ctx context.Context, b64Key string) (KeyringResult, error)
	RemoveKey(ctx context.Context, b64Key string) (KeyringResult, error)
}

var _ Keyring = (*SerfMembership)(nil)

// KeyringResult is how the members answered a keyring query.
type KeyringResult struct {
	// Nodes is how many members were asked, Answered how many replied.
	Nodes    int `json:"nodes"`
	Answered int `json:"answered"`
	// Errors maps a node to what it reported (failures and warnings).
	Errors map[string]string `json:"errors,omitempty"`
}

// KeyringStatus is the cluster's keyring by fingerprint (KeyFingerprint),
// never by key.
type KeyringStatus struct {
	// Keys maps a key's fingerprint to the number of nodes holding it.
	Keys map[string]int `json:"keys"`
	// PrimaryKeys maps a fingerprint to the number of nodes encrypting
	// with it (serf reports counts, not which node uses which).
	PrimaryKeys map[string]int `json:"primary_keys"`
	KeyringResult
}

// KeyringError is a keyring query that some member failed or did not
// answer; it names the nodes, never the key.
type KeyringError struct {
	Op     string // "install", "use", "remove" or "list"
	Failed []string
	KeyringResult
}

func (e *KeyringError) Error() string {
	s := fmt.Sprintf("gossip keyring %s: %d of %d nodes answered", e.Op, e.Answered, e.Nodes)
	if len(e.Failed) > 0 {
		s += "; failed on " + strings.Join(e.Failed, ", ")
	}
	return s
}

// ListKeys implements Keyring.
func (m *SerfMembership) ListKeys(ctx context.Context) (KeyringStatus, error) {
	resp, err := m.keyQuery(ctx, "list", func(k *serf.KeyManager) (*serf.KeyResponse, error) { return k.ListKeys() })
	if err != nil {
		return KeyringStatus{}, err
	}
	st := KeyringStatus{Keys: fingerprints(resp.Keys), PrimaryKeys: fingerprints(resp.PrimaryKeys)}
	st.KeyringResult = keyringResult(resp, nil)
	return st, m.keyError("list", resp)
}

// InstallKey implements Keyring: every member adds the key and decrypts
// with it; each keeps encrypting with its primary key.
func (m *SerfMembership) InstallKey(ctx context.Context, b64Key string) (KeyringResult, error) {
	return m.changeKey(ctx, "install", b64Key, (*serf.KeyManager).InstallKey)
}

// UseKey implements Keyring: every member makes the key, which it must
// already hold, its primary one.
func (m *SerfMembership) UseKey(ctx context.Context, b64Key string) (KeyringResult, error) {
	return m.changeKey(ctx, "use", b64Key, (*serf.KeyManager).UseKey)
}

// RemoveKey implements Keyring; members refuse to remove their primary key.
func (m *SerfMembership) RemoveKey(ctx context.Context, b64Key string) (KeyringResult, error) {
	return m.changeKey(ctx, "remove", b64Key, (*serf.KeyManager).RemoveKey)
}

func (m *SerfMembership) changeKey(ctx context.Context, op, b64Key string, call func(*serf.KeyManager, string) (*serf.KeyResponse, error)) (KeyringResult, error) {
	key, err := DecodeGossipKey(b64Key)
	if err != nil {
		return KeyringResult{}, fmt.Errorf("%s gossip key: %w", op, err)
	}
	// Re-encoded, so serf decodes exactly the bytes validated here.
	canonical := base64.StdEncoding.EncodeToString(key)
	resp, err := m.keyQuery(ctx, op, func(k *serf.KeyManager) (*serf.KeyResponse, error) { return call(k, canonical) })
	if err != nil {
		return KeyringResult{}, err
	}
	return keyringResult(resp, [][]byte{key}), m.keyError(op, resp)
}

// keyQuery runs one KeyManager call, which blocks for up to serf's query
// timeout, giving up early when ctx ends (the query then finishes on its
// own). serf's error for members that failed is dropped: the response
// says which, and keyError names them.
func (m *SerfMembership) keyQuery(ctx context.Context, op string, call func(*serf.KeyManager) (*serf.KeyResponse, error)) (*serf.KeyResponse, error) {
	if m.serf == nil {
		return nil, fmt.Errorf("%s gossip key: gossip not started", op)
	}
	if !m.serf.EncryptionEnabled() {
		return nil, ErrGossipNotEncrypted
	}
	type answer struct {
		resp *serf.KeyResponse
		err  error
	}
	ch := make(chan answer, 1)
	go func() {
		r, err := call(m.serf.KeyManager())
		ch <- answer{r, err}
	}()
	select {
	case a := <-ch:
		// serf sets NumNodes only once the query is sent; before, its
		// error (a query too large, serf shut down) is the whole story.
		if a.err != nil && (a.resp == nil || a.resp.NumNodes == 0) {
			return nil, fmt.Errorf("%s gossip key: %w", op, a.err)
		}
		return a.resp, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("%s gossip key: %w", op, context.Cause(ctx))
	}
}

// keyError is nil when every member answered without failing; otherwise
// it names the nodes (serf's own error only counts them).
func (m *SerfMembership) keyError(op string, resp *serf.KeyResponse) error {
	if resp.NumErr == 0 && resp.NumResp >= resp.NumNodes {
		return nil
	}
	e := &KeyringError{Op: op, KeyringResult: keyringResult(resp, nil)}
	e.Failed = slices.Sorted(maps.Keys(resp.Messages))
	m.cfg.Logger.Warn("gossip keyring change incomplete", "op", op, "nodes", resp.NumNodes, "answered", resp.NumResp, "failed", e.Failed)
	return e
}

func keyringResult(resp *serf.KeyResponse, secrets [][]byte) KeyringResult {
	r := KeyringResult{Nodes: resp.NumNodes, Answered: resp.NumResp}
	if len(resp.Messages) == 0 {
		return r
	}
	for k := range resp.Keys {
		if raw, err := base64.StdEncoding.DecodeString(k); err == nil {
			secrets = append(secrets, raw)
		}
	}
	r.Errors = make(map[string]string, len(resp.Messages))
	for node, msg := range resp.Messages {
		r.Errors[node] = redact(msg, secrets)
	}
	return r
}

// redact makes a member's message safe to show: serf quotes a malformed
// answer's payload, which may hold keys, so that is dropped, and any key
// that still appears is replaced by its fingerprint.
func redact(msg string, secrets [][]byte) string {
	for _, p := range []string{"Invalid key query response type", "Failed to decode key query response"} {
		if strings.HasPrefix(msg, p) {
			return p
		}
	}
	for _, k := range secrets {
		msg = strings.ReplaceAll(msg, base64.StdEncoding.EncodeToString(k), "key "+KeyFingerprint(k))
	}
	if len(msg) > 200 {
		msg = msg[:200] + "..."
	}
	return msg
}

// fingerprints turns serf's base64 key → count into fingerprint → count.
// serf counts an empty key for answers that carry none (failures): dropped.
func fingerprints(byKey map[string]int) map[string]int {
	out := make(map[string]int, len(byKey))
	for k, n := range byKey {
		if k == "" {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(k)
		if err != nil {
			raw = []byte(k) // still hidden, still distinct
		}
		out[KeyFingerprint(raw)] += n
	}
	return out
}
