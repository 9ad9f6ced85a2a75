package membership

import (
	"strings"
	"testing"
)

// FuzzParseKeyring: a keyring file of any content is refused with an error
// that quotes none of it, or gives keys of an AES size.
func FuzzParseKeyring(f *testing.F) {
	for _, seed := range []string{
		`["AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="]`,
		`["AAAAAAAAAAAAAAAAAAAAAA==", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"]`,
		`[]`, `{}`, `["not base64!"]`, `["QUJD"]`, "[\"\x00\"]", `[1, 2]`, ``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		keys, err := parseKeyring(raw)
		if err != nil {
			if len(raw) >= 12 && strings.Contains(err.Error(), string(raw)) {
				t.Fatalf("error quotes the file: %v", err)
			}
			return
		}
		if len(keys) == 0 {
			t.Fatal("no error and no keys")
		}
		for i, k := range keys {
			if n := len(k); n != 16 && n != 24 && n != 32 {
				t.Fatalf("key %d has %d bytes", i+1, n)
			}
		}
	})
}
