package auth

import (
	"encoding/hex"
	"slices"
	"strings"
	"testing"
)

// hashHex is the file's spelling of the hash of token.
func hashHex(token string) string {
	h := HashToken(token)
	return "sha256:" + hex.EncodeToString(h[:])
}

func TestParseTokensFileGood(t *testing.T) {
	data := "# a comment\n\n" +
		"alice admin " + hashHex("a") + "\n" +
		"  \t\n" +
		"   # indented comment\n" +
		"svc.api@prod-1 read " + hashHex("b") + "\r\n" +
		"bob_2 write\t" + hashHex("c") // no final newline
	got, err := ParseTokensFile([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{
		{Name: "alice", Role: RoleAdmin, Hash: HashToken("a")},
		{Name: "svc.api@prod-1", Role: RoleRead, Hash: HashToken("b")},
		{Name: "bob_2", Role: RoleWrite, Hash: HashToken("c")},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if got, err := ParseTokensFile(nil); err != nil || len(got) != 0 {
		t.Fatalf("empty file: %v, %v", got, err)
	}
}

func TestParseTokensFileBad(t *testing.T) {
	good := "alice admin " + hashHex("a") + "\n"
	h := hashHex("secret")
	upper := "sha256:" + strings.ToUpper(h[len("sha256:"):])
	for _, tc := range []struct {
		name, line, want string
	}{
		{"bad role", "bob superuser " + h, "line 2: unknown role"},
		{"empty role", "bob  " + h, "line 2: want <name> <role>"},
		{"no prefix", "bob read " + h[len("sha256:"):], "line 2: bad hash"},
		{"other algorithm", "bob read md5:" + h[len("sha256:"):], "line 2: bad hash"},
		{"upper-case hex", "bob read " + upper, "line 2: bad hash"},
		{"short hash", "bob read " + h[:len(h)-2], "line 2: bad hash"},
		{"non-hex", "bob read " + h[:len(h)-1] + "g", "line 2: bad hash"},
		{"extra field", "bob read " + h + " x", "line 2: want <name> <role>"},
		{"duplicate name", "alice read " + h, `line 2: name "alice" already used on line 1`},
		{"duplicate hash", "carol read " + hashHex("a"), "line 2: same token hash as line 1"},
		{"name starts with dot", ".bob read " + h, "line 2: bad name"},
		{"name with slash", "bo/b read " + h, "line 2: bad name"},
		{"name too long", strings.Repeat("b", 129) + " read " + h, "line 2: bad name"},
		{"name is a token", "dkv_abc read " + h, "line 2: bad name"},
		{"not UTF-8", "bob read " + h + "\xff", "line 2: not UTF-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseTokensFile([]byte(good + tc.line + "\n"))
			if err == nil {
				t.Fatal("parsed")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to contain %q", err, tc.want)
			}
			digits := h[len("sha256:"):]
			if strings.Contains(strings.ToLower(err.Error()), digits[:16]) {
				t.Errorf("error %q echoes the hash", err)
			}
			if strings.Contains(err.Error(), "superuser") || strings.Contains(err.Error(), "dkv_abc") {
				t.Errorf("error %q echoes a bad field", err)
			}
		})
	}
	if _, err := ParseTokensFile(make([]byte, MaxFileSize+1)); err == nil || !strings.Contains(err.Error(), "over the limit") {
		t.Errorf("oversized file: %v", err)
	}
}

func TestValidateName(t *testing.T) {
	for _, ok := range []string{"a", "A", "0", "a.b_c@d-e", strings.Repeat("x", 128), "dkv", "dkv-x"} {
		if err := ValidateName(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "_a", "-a", "@a", "a b", "a/b", "é", strings.Repeat("x", 129), "dkv_x"} {
		if ValidateName(bad) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestFormatTokensFileRoundTrip(t *testing.T) {
	entries := []Entry{
		{Name: "alice", Role: RoleAdmin, Hash: HashToken("a")},
		{Name: "bob", Role: RoleRead, Hash: HashToken("b")},
	}
	data := FormatTokensFile(entries)
	if !strings.HasPrefix(string(data), "# ") {
		t.Errorf("no header comment:\n%s", data)
	}
	if want := "bob read " + hashHex("b") + "\n"; !strings.HasSuffix(string(data), want) {
		t.Errorf("last line: got\n%s\nwant %q", data, want)
	}
	got, err := ParseTokensFile(data)
	if err != nil || !slices.Equal(got, entries) {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
}

func TestRoles(t *testing.T) {
	if !(RoleRead < RoleWrite && RoleWrite < RoleAdmin) {
		t.Fatal("roles out of order")
	}
	for _, r := range []Role{RoleRead, RoleWrite, RoleAdmin} {
		got, err := ParseRole(r.String())
		if err != nil || got != r {
			t.Errorf("ParseRole(%q) = %v, %v", r.String(), got, err)
		}
	}
	for _, bad := range []string{"", "Read", "ADMIN", "root"} {
		if _, err := ParseRole(bad); err == nil {
			t.Errorf("ParseRole(%q) accepted", bad)
		}
	}
	if s := Role(0).String(); s != "Role(0)" {
		t.Errorf("zero role prints %q", s)
	}
}

func TestNewToken(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		tok, err := NewToken()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(tok, "dkv_") || len(tok) != 4+43 || !wellFormed(tok) {
			t.Fatalf("token %q has the wrong shape", tok)
		}
		if seen[tok] {
			t.Fatal("duplicate token")
		}
		seen[tok] = true
	}
}

// FuzzParseTokensFile: the parser never panics, and whatever it accepts
// survives FormatTokensFile unchanged.
func FuzzParseTokensFile(f *testing.F) {
	f.Add([]byte(""))
	f.Add([]byte("# only a comment\n"))
	f.Add([]byte("alice admin " + hashHex("a") + "\nbob read " + hashHex("b") + "\n"))
	f.Add([]byte("a write " + hashHex("x") + "\r\n\n  # c\n"))
	f.Add([]byte("alice admin " + hashHex("a") + "\nalice read " + hashHex("b") + "\n"))
	f.Add([]byte("x.y@z read sha256:" + strings.Repeat("0", 64)))
	f.Add([]byte("bad line\n"))
	f.Add([]byte("\xff\xfe"))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := ParseTokensFile(data)
		if err != nil {
			return
		}
		again, err := ParseTokensFile(FormatTokensFile(entries))
		if err != nil {
			t.Fatalf("formatted entries do not parse: %v", err)
		}
		if !slices.Equal(again, entries) {
			t.Fatalf("round trip changed the entries: %+v -> %+v", entries, again)
		}
	})
}
