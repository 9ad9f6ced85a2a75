package main

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDocumentedPutsSetContentType: every curl PUT in the README and docs
// says its Content-Type; without one curl sends
// application/x-www-form-urlencoded, which dynkv stores as sent.
func TestDocumentedPutsSetContentType(t *testing.T) {
	files, _ := filepath.Glob("../../docs/*.md")
	for _, file := range append(files, "../../README.md") {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		// A command continued with a trailing backslash is one line.
		text := strings.ReplaceAll(string(b), "\\\n", " ")
		for line := range strings.SplitSeq(text, "\n") {
			if strings.Contains(line, "curl ") && strings.Contains(line, "-X PUT") && !strings.Contains(line, "Content-Type:") {
				t.Errorf("%s: a curl PUT without a Content-Type stores application/x-www-form-urlencoded:\n%s", filepath.Base(file), line)
			}
		}
	}
}

// TestReadmeSession runs the README's curl session (up to its delete)
// against a cluster and checks that the resolved greeting is stored as the
// text/plain its commands say.
func TestReadmeSession(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("curl is needed to run the README's session")
		}
		t.Skip("no curl")
	}
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, _ := strings.Cut(string(b), "## Try it")
	_, block, _ := strings.Cut(after, "```sh\n")
	block, _, _ = strings.Cut(block, "# Delete what you read")
	_, eps := cliCluster(t)
	urls := strings.Split(eps, ",")
	block = regexp.MustCompile(`http://127\.0\.0\.1:808([123])`).ReplaceAllStringFunc(block, func(u string) string {
		return urls[u[len(u)-1]-'1']
	})
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "bash", "-e", "-c", block).CombinedOutput(); err != nil {
		t.Fatalf("the README's session: %v\n%s", err, out)
	}
	resp, err := http.Get(urls[2] + "/kv/greeting")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/plain" {
		t.Errorf("after the README's session greeting is %d, %s; want 200, text/plain", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}
