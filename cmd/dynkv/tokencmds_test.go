package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/dynkv/dynkv/security/auth"
)

// tokenRun is one in-process run of the dynkv command line.
type tokenRun struct {
	code           int
	stdout, stderr string
}

// runTokenCmd runs dynkv with args and the environment env.
func runTokenCmd(env map[string]string, args ...string) tokenRun {
	var stdout, stderr bytes.Buffer
	code := run(args, strings.NewReader(""), &stdout, &stderr, envMap(env))
	return tokenRun{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

var tokenLineRE = regexp.MustCompile(`^dkv_[A-Za-z0-9_-]{43}\n$`)

func TestTokenCommands(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "tokens")
	tok := func(args ...string) tokenRun {
		return runTokenCmd(nil, append(append([]string{"token"}, args...), "--tokens-file", file)...)
	}

	// create prints the token alone on stdout, the note on stderr.
	r := tok("create", "alice", "--role", "write")
	if r.code != 0 || !tokenLineRE.MatchString(r.stdout) {
		t.Fatalf("create: %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	token := strings.TrimSpace(r.stdout)
	if !strings.Contains(r.stderr, "cannot be shown again") || !strings.Contains(r.stderr, "SIGHUP") || strings.Contains(r.stderr, token) {
		t.Errorf("create's note: %q", r.stderr)
	}
	// Flags before the name work too.
	if r := tok("create", "--role=admin", "root"); r.code != 0 || !tokenLineRE.MatchString(r.stdout) {
		t.Fatalf("create with flags first: %d %q %q", r.code, r.stdout, r.stderr)
	}
	fi, err := os.Stat(file)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("tokens file: %v, %v", fi, err)
	}
	// The token works against the file.
	s, err := auth.OpenStore(file)
	if err != nil {
		t.Fatal(err)
	}
	if name, role, ok := s.Lookup(token); !ok || name != "alice" || role != auth.RoleWrite {
		t.Errorf("Lookup of the printed token: %q %v %v", name, role, ok)
	}

	// list shows names, roles and short ids, never the token.
	h := auth.HashToken(token)
	id := hashID(h)
	r = tok("list")
	if r.code != 0 || !regexp.MustCompile(`(?m)^NAME +ROLE +ID$`).MatchString(r.stdout) ||
		!regexp.MustCompile(`(?m)^alice +write +`+id+`$`).MatchString(r.stdout) ||
		!regexp.MustCompile(`(?m)^root +admin +[0-9a-f]{8}$`).MatchString(r.stdout) {
		t.Errorf("list: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(r.stdout, token[4:]) {
		t.Error("list shows the token")
	}
	r = tok("list", "-o", "json")
	var listed []struct{ Name, Role, ID string }
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &listed) != nil || len(listed) != 2 ||
		listed[0].Name != "alice" || listed[0].Role != "write" || listed[0].ID != id {
		t.Errorf("list -o json: %d %q %q", r.code, r.stdout, r.stderr)
	}

	// A second token for a name is a runtime failure.
	if r := tok("create", "alice", "--role", "read"); r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, "already has a token") {
		t.Errorf("duplicate create: %d %q %q", r.code, r.stdout, r.stderr)
	}

	// revoke removes it; revoking again fails.
	if r := tok("revoke", "alice"); r.code != 0 || !strings.Contains(r.stdout, "revoked") {
		t.Errorf("revoke: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := tok("list"); r.code != 0 || strings.Contains(r.stdout, "alice") || !strings.Contains(r.stdout, "root") {
		t.Errorf("list after revoke: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := tok("revoke", "alice"); r.code != 1 || !strings.Contains(r.stderr, "no token") {
		t.Errorf("second revoke: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := s.Lookup(token); ok {
		t.Error("revoked token still accepted after Reload")
	}
}

func TestTokenUsageErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "tokens")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"create", "alice", "--role", "root"}, "--role"},
		{[]string{"create", "alice"}, "--role is required"},
		{[]string{"create", "--role", "read"}, "missing argument"},
		{[]string{"create", "a", "b", "--role", "read"}, `unexpected argument "b"`},
		{[]string{"create", "bad/name", "--role", "read"}, "bad name"},
		{[]string{"create", "alice", "--role", "read", "--frob"}, "--frob"},
		{[]string{"list", "extra"}, "unexpected argument"},
		{[]string{"list", "-o", "yaml"}, "--output"},
		{[]string{"revoke"}, "missing argument"},
		{[]string{"frob"}, `unknown subcommand "frob"`},
		{nil, "Subcommands:"},
	} {
		args := append([]string{"token"}, tc.args...)
		if len(tc.args) > 0 && tc.args[0] != "frob" {
			args = append(args, "--tokens-file", file)
		}
		r := runTokenCmd(nil, args...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) || r.stdout != "" {
			t.Errorf("%q: %d, stdout %q, stderr %q; want 2 and %q", tc.args, r.code, r.stdout, r.stderr, tc.want)
		}
	}
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Error("a refused command made the tokens file")
	}
	// Runtime failures: a missing file, a broken one.
	if r := runTokenCmd(nil, "token", "list", "--tokens-file", file); r.code != 1 || !strings.Contains(r.stderr, "tokens file") {
		t.Errorf("list of a missing file: %d %q", r.code, r.stderr)
	}
	if err := os.WriteFile(file, []byte("x read sha256:00\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := runTokenCmd(nil, "token", "create", "y", "--role", "read", "--tokens-file", file); r.code != 1 || !strings.Contains(r.stderr, "line 1") {
		t.Errorf("create over a broken file: %d %q", r.code, r.stderr)
	}
}

func TestTokenHelpAndEnv(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"help", "token"}, {"token", "--help"}, {"token", "help"}} {
		if r := runTokenCmd(nil, args...); r.code != 0 || !strings.Contains(r.stdout, "create NAME") {
			t.Errorf("%q: %d %q", args, r.code, r.stdout)
		}
	}
	if r := runTokenCmd(nil, "token", "create", "--help"); r.code != 0 || !strings.Contains(r.stdout, "DYNKV_TOKEN_TOKENS_FILE") {
		t.Errorf("create --help: %d %q", r.code, r.stdout)
	}
	if r := runTokenCmd(nil, "help"); !strings.Contains(r.stdout, "token     manage client bearer tokens") {
		t.Errorf("usage lacks token: %q", r.stdout)
	}
	// DYNKV_TOKEN_TOKENS_FILE picks the file.
	file := filepath.Join(t.TempDir(), "from-env")
	env := map[string]string{"DYNKV_TOKEN_TOKENS_FILE": file}
	if r := runTokenCmd(env, "token", "create", "svc", "--role", "read"); r.code != 0 {
		t.Fatalf("create via env: %d %q", r.code, r.stderr)
	}
	if r := runTokenCmd(env, "token", "list"); r.code != 0 || !strings.Contains(r.stdout, "svc") {
		t.Errorf("list via env: %d %q %q", r.code, r.stdout, r.stderr)
	}
}
