package client

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Gossip key management: the cluster's serf keyring, seen through one
// node (GET /admin/keyring, POST /admin/keyring/{install,use,remove}).
// Keys go to the server and never come back: the cluster reports each key
// by its fingerprint, the first 8 bytes of its SHA-256 in hex.

// Codes of the keyring routes, as found in APIError.Code.
const (
	// CodeGossipNotEncrypted (409): the nodes gossip in the clear.
	CodeGossipNotEncrypted = "gossip_not_encrypted"
	// CodeKeyringIncomplete (502): some members failed the change or did
	// not answer; the message names them.
	CodeKeyringIncomplete = "keyring_incomplete"
)

// ErrGossipNotEncrypted: the node has no gossip keyring to list or change
// (409 gossip_not_encrypted); start the nodes with --gossip-key-file.
var ErrGossipNotEncrypted = errors.New("gossip is not encrypted")

// GossipKey is one key of the cluster's gossip keyring.
type GossipKey struct {
	Fingerprint string `json:"fingerprint"`
	// Nodes hold the key; PrimaryNodes encrypt with it.
	Nodes        int `json:"nodes"`
	PrimaryNodes int `json:"primary_nodes"`
}

// KeyringStatus is the gossip keyring across the cluster as the node
// that answered (Node) collected it.
type KeyringStatus struct {
	Node string      `json:"node"`
	Keys []GossipKey `json:"keys"`
	// Nodes members were asked and Answered replied; Errors maps a member
	// to what it reported instead.
	Nodes    int               `json:"nodes"`
	Answered int               `json:"answered"`
	Errors   map[string]string `json:"errors,omitempty"`
}

// Keyring lists the cluster's gossip keys by fingerprint. Members that
// failed to answer are in Errors, not an error.
func (c *Client) Keyring(ctx context.Context) (KeyringStatus, error) {
	var out KeyringStatus
	if err := c.getJSON(ctx, "keyring", "/admin/keyring", "", &out); err != nil {
		return KeyringStatus{}, keyringError(err)
	}
	return out, nil
}

// InstallGossipKey adds a base64 key to every member's keyring: they
// decrypt with it and go on encrypting with their primary key. The first
// step of a rotation.
func (c *Client) InstallGossipKey(ctx context.Context, key string) error {
	return c.changeGossipKey(ctx, "install", key)
}

// UseGossipKey makes an installed key every member's primary key, the one
// it encrypts with. The second step of a rotation.
func (c *Client) UseGossipKey(ctx context.Context, key string) error {
	return c.changeGossipKey(ctx, "use", key)
}

// RemoveGossipKey removes a key from every member's keyring; a member
// refuses to remove its primary key. The last step of a rotation.
func (c *Client) RemoveGossipKey(ctx context.Context, key string) error {
	return c.changeGossipKey(ctx, "remove", key)
}

func (c *Client) changeGossipKey(ctx context.Context, op, key string) error {
	what := op + " gossip key"
	key = strings.TrimSpace(key)
	// Checked here so that a typo costs no round trip; the message must
	// not quote the key.
	raw, err := base64.StdEncoding.DecodeString(key)
	if err != nil {
		return opError(what, "", fmt.Errorf("%w: the key is not valid base64", ErrBadRequest))
	}
	if n := len(raw); n != 16 && n != 24 && n != 32 {
		return opError(what, "", fmt.Errorf("%w: the key is %d bytes, want 16, 24 or 32", ErrBadRequest, n))
	}
	body, err := json.Marshal(map[string]string{"key": key})
	if err != nil {
		return opError(what, "", err)
	}
	// A write: not retried once it may have reached the cluster, so that a
	// change some members failed is reported, not asked again elsewhere.
	resp, err := c.do(ctx, &request{method: http.MethodPost, path: "/admin/keyring/" + op, body: body,
		contentType: "application/json", accept: "application/json", write: true})
	defer resp.release()
	if err != nil {
		return keyringError(opError(what, "", err))
	}
	return nil
}

// notEncrypted adds ErrGossipNotEncrypted to a 409's error for errors.Is.
type notEncrypted struct{ err error }

func (e notEncrypted) Error() string   { return e.err.Error() }
func (e notEncrypted) Unwrap() []error { return []error{e.err, ErrGossipNotEncrypted} }

func keyringError(err error) error {
	var ae *APIError
	if errors.As(err, &ae) && ae.Code == CodeGossipNotEncrypted {
		return notEncrypted{err}
	}
	return err
}
