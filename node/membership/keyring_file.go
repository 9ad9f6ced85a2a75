package membership

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"

	"github.com/hashicorp/memberlist"
)

// maxKeyringFileBytes bounds what a keyring file may hold: a few hundred
// keys, far more than any rotation needs, so a wrong path (a log, a
// device) is refused rather than read whole.
const maxKeyringFileBytes = 64 << 10

// KeyFingerprint names a gossip key without revealing it: the first 8
// bytes of its SHA-256, in hex. Operators compare fingerprints across
// nodes; the key itself never leaves the keyring file.
func KeyFingerprint(key []byte) string {
	sum := sha256.Sum256(key)
	return hex.EncodeToString(sum[:8])
}

// DecodeGossipKey decodes a base64 gossip key and checks its length
// (AES-128, -192 or -256). Its errors never quote the key.
func DecodeGossipKey(b64 string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, errors.New("gossip key is not valid base64")
	}
	if err := memberlist.ValidateKey(key); err != nil {
		return nil, fmt.Errorf("gossip key is %d bytes: want 16, 24 or 32", len(key))
	}
	return key, nil
}

// loadKeyring reads a keyring file in serf's format (a JSON array of
// base64 keys, the first the primary). The file is the cluster's secret:
// one readable by others is refused, as consul and CockroachDB refuse
// theirs, rather than used and left exposed.
func loadKeyring(path string) (*memberlist.Keyring, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("gossip keyring file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("gossip keyring file: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("gossip keyring file %s is not a regular file", path)
	}
	// Windows has no such mode bits: its ACLs are the operator's to set.
	if perm := st.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, fmt.Errorf("gossip keyring file %s has mode %04o: group and others must have no access to it (chmod 600 %s)", path, perm, path)
	}
	raw, err := io.ReadAll(io.LimitReader(f, maxKeyringFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read gossip keyring file %s: %w", path, err)
	}
	if len(raw) > maxKeyringFileBytes {
		return nil, fmt.Errorf("gossip keyring file %s is larger than %d bytes", path, maxKeyringFileBytes)
	}
	keys, err := parseKeyring(raw)
	if err != nil {
		return nil, fmt.Errorf("gossip keyring file %s: %w", path, err)
	}
	kr, err := memberlist.NewKeyring(keys, keys[0])
	if err != nil {
		return nil, fmt.Errorf("gossip keyring file %s: %w", path, err)
	}
	return kr, nil
}

// parseKeyring decodes the file's keys; its errors say which key is wrong
// by position, never by content.
func parseKeyring(raw []byte) ([][]byte, error) {
	var encoded []string
	if err := json.Unmarshal(raw, &encoded); err != nil {
		// json's message may quote the file's bytes, which are key material.
		return nil, errors.New(`not a JSON array of base64 keys (want ["<base64 key>", ...])`)
	}
	if len(encoded) == 0 {
		return nil, errors.New("holds no keys (generate one with dynkv keyring generate)")
	}
	keys := make([][]byte, len(encoded))
	for i, e := range encoded {
		k, err := DecodeGossipKey(e)
		if err != nil {
			return nil, fmt.Errorf("key %d: %w", i+1, err)
		}
		keys[i] = k
	}
	return keys, nil
}
