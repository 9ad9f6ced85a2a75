package auth

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxFileSize bounds the tokens file. It is far above any real file (an
// entry is under 220 bytes) and keeps a wrong path, say a disk image, from
// being read into memory on every reload.
const MaxFileSize = 4 << 20

// maxNameLen is the longest name.
const maxNameLen = 128

// hashPrefix starts the hash field, naming the algorithm so that another
// one could be added without guessing.
const hashPrefix = "sha256:"

// Entry is one line of the tokens file.
type Entry struct {
	Name string
	Role Role
	Hash [32]byte
}

// fileHeader starts every file FormatTokensFile writes, so that whoever
// opens it knows what it is and that it holds no secrets.
const fileHeader = "# dynkv tokens file: <name> <role> sha256:<hex of the token's SHA-256>; roles: read, write, admin. Managed by 'dynkv token'; holds no secrets.\n"

// ValidateName checks a principal's name: 1 to 128 of A-Z a-z 0-9 . _ @ -,
// starting with a letter or digit, and not starting with "dkv_". The error
// does not quote the name, which might be a pasted token.
func ValidateName(name string) error {
	if name == "" || len(name) > maxNameLen {
		return errors.New("bad name: want 1 to 128 characters")
	}
	if strings.HasPrefix(name, TokenPrefix) {
		return errors.New("bad name: it starts with " + TokenPrefix + " like a token; a name is not a secret")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		alnum := 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9'
		if !alnum && (i == 0 || c != '.' && c != '_' && c != '@' && c != '-') {
			return errors.New("bad name: want letters, digits and . _ @ -, starting with a letter or digit")
		}
	}
	return nil
}

// ParseTokensFile parses a tokens file. Errors name the line, never its
// hash or the text of a bad field.
func ParseTokensFile(data []byte) ([]Entry, error) {
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("tokens file is %d bytes, over the limit of %d", len(data), MaxFileSize)
	}
	var (
		entries []Entry
		names   = map[string]int{}   // name -> line
		hashes  = map[[32]byte]int{} // hash -> line
	)
	for i, line := range bytes.Split(data, []byte("\n")) {
		n := i + 1
		if !utf8.Valid(line) {
			return nil, fmt.Errorf("tokens file line %d: not UTF-8 text", n)
		}
		text := strings.TrimSpace(string(line))
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		e, err := parseLine(text)
		if err != nil {
			return nil, fmt.Errorf("tokens file line %d: %w", n, err)
		}
		if first, dup := names[e.Name]; dup {
			return nil, fmt.Errorf("tokens file line %d: name %q already used on line %d", n, e.Name, first)
		}
		if first, dup := hashes[e.Hash]; dup {
			// Two principals for one token: which one a request is would
			// depend on the order of the file.
			return nil, fmt.Errorf("tokens file line %d: same token hash as line %d", n, first)
		}
		names[e.Name], hashes[e.Hash] = n, n
		entries = append(entries, e)
	}
	return entries, nil
}

// parseLine parses one entry, already trimmed.
func parseLine(text string) (Entry, error) {
	fields := strings.Fields(text)
	if len(fields) != 3 {
		return Entry{}, fmt.Errorf("want <name> <role> %s<hex>, found %d fields", hashPrefix, len(fields))
	}
	var e Entry
	if err := ValidateName(fields[0]); err != nil {
		return Entry{}, err
	}
	e.Name = fields[0]
	role, err := ParseRole(fields[1])
	if err != nil {
		return Entry{}, err
	}
	e.Role = role
	h, ok := parseHash(fields[2])
	if !ok {
		return Entry{}, fmt.Errorf("bad hash: want %s and 64 lowercase hex digits", hashPrefix)
	}
	e.Hash = h
	return e, nil
}

// parseHash reads "sha256:<64 lowercase hex>". Upper case is refused so
// that one hash has one spelling in the file.
func parseHash(s string) ([32]byte, bool) {
	var h [32]byte
	digits, ok := strings.CutPrefix(s, hashPrefix)
	if !ok || len(digits) != 2*len(h) {
		return h, false
	}
	for i := 0; i < len(digits); i++ {
		if c := digits[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return h, false
		}
	}
	if _, err := hex.Decode(h[:], []byte(digits)); err != nil {
		return h, false
	}
	return h, true
}

// FormatTokensFile writes entries as a tokens file: a header comment, then
// one line per entry in the order given. The entries must be valid, as
// ParseTokensFile returns them.
func FormatTokensFile(entries []Entry) []byte {
	var b bytes.Buffer
	b.WriteString(fileHeader)
	for _, e := range entries {
		fmt.Fprintf(&b, "%s %s %s%s\n", e.Name, e.Role, hashPrefix, hex.EncodeToString(e.Hash[:]))
	}
	return b.Bytes()
}
