package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestCompletionBash checks the bash script parses, names every command,
// group subcommand and flag, and completes as bash would run it.
func TestCompletionBash(t *testing.T) {
	script := completionScript(t, "bash")
	file := filepath.Join(t.TempDir(), "dynkv.bash")
	if err := os.WriteFile(file, []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("bash", "-n", file).CombinedOutput(); err != nil {
		t.Fatalf("bash -n: %v\n%s", err, out)
	}
	if got, want := bashComplete(t, file, "dynkv ''"), strings.Join(topLevelNames(), " "); got != want {
		t.Errorf("dynkv <TAB> offers %q, want every command: %q", got, want)
	}
	for _, d := range commandDocs() {
		line := ""
		for l := range strings.SplitSeq(script, "\n") {
			if strings.HasPrefix(strings.TrimSpace(l), `"`+d.path+`")`) {
				line = l
			}
		}
		for _, fl := range d.flags {
			if !strings.Contains(strings.ReplaceAll(line, `"`, " "), " --"+fl.name+" ") {
				t.Errorf("the script does not complete dynkv %s --%s: %q", d.path, fl.name, line)
			}
		}
	}
	for _, tc := range []struct{ words, want string }{
		{"dynkv ge", "get"},
		{"dynkv cert create-c", "create-ca create-client create-cluster"},
		{"dynkv cert create-ca --c", "--certs-dir"},
		{"dynkv ring --pa", "--partitions"},
		{"dynkv --help del", "delete"},
		{"dynkv completion f", "fish"},
		{"dynkv bucket s", "set"},
		{"dynkv bucket set --con", "--conflict"},
	} {
		if got := bashComplete(t, file, tc.words); got != tc.want {
			t.Errorf("complete %q = %q, want %q", tc.words, got, tc.want)
		}
	}
}

// bashComplete runs the completion function on a command line whose last
// word is being completed.
func bashComplete(t *testing.T, file, words string) string {
	t.Helper()
	n := len(strings.Fields(words)) - 1
	prog := "source " + file + "; COMP_WORDS=(" + words + "); COMP_CWORD=" + strconv.Itoa(n) + `; _dynkv; echo "${COMPREPLY[*]}"`
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	out, err := exec.CommandContext(ctx, "bash", "-c", prog).CombinedOutput()
	if err != nil {
		t.Fatalf("bash: %v\n%s", err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestCompletionOtherShells checks the zsh and fish scripts name every
// command, and parse where the shell is installed.
func TestCompletionOtherShells(t *testing.T) {
	for _, shell := range []string{"zsh", "fish"} {
		script := completionScript(t, shell)
		for _, name := range topLevelNames() {
			if !strings.Contains(script, name) {
				t.Errorf("the %s script does not offer %s", shell, name)
			}
		}
		if _, err := exec.LookPath(shell); err != nil {
			continue // the words are checked; the syntax where the shell is
		}
		file := filepath.Join(t.TempDir(), "dynkv."+shell)
		if err := os.WriteFile(file, []byte(script), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(shell, "-n", file).CombinedOutput(); err != nil {
			t.Errorf("%s -n: %v\n%s", shell, err, out)
		}
	}
	var stderr bytes.Buffer
	if code := run([]string{"completion", "tcsh"}, strings.NewReader(""), &bytes.Buffer{}, &stderr, noEnv); code != 2 ||
		!strings.Contains(stderr.String(), `unknown shell "tcsh"`) {
		t.Errorf("completion tcsh: exit %d, %q", code, stderr.String())
	}
}

func completionScript(t *testing.T, shell string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := run([]string{"completion", shell}, strings.NewReader(""), &stdout, &stderr, noEnv); code != 0 {
		t.Fatalf("completion %s: exit %d, %s", shell, code, stderr.String())
	}
	return stdout.String()
}
