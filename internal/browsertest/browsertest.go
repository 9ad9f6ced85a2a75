// Package browsertest drives headless Chromium (chromedp) in tests of
// dynkv's web pages: the dashboard (/ui) and the shopping-cart demo.
//
// Without a Chromium the tests skip, except in CI (CI=true), where a
// missing browser is a failure: .ci/run installs Debian's chromium
// package. Screenshots go to $DYNKV_ARTIFACTS, or the test's temporary
// directory.
package browsertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// FindChromium returns the browser to drive, skipping the test (failing it
// when CI=true) if there is none.
func FindChromium(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	const msg = "no Chromium found on PATH (chromium, chromium-browser or google-chrome); install it with: apt-get install -y chromium"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " — required when CI=true")
	}
	t.Skip(msg)
	return ""
}

// ArtifactDir is where screenshots go: $DYNKV_ARTIFACTS, or the test's
// temporary directory.
func ArtifactDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("DYNKV_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Start starts headless Chromium with a window of width x height pixels
// for the test's lifetime (and at most ctx's), with the options extra
// (chromedp.IgnoreCertErrors for a cluster CA the browser does not know,
// say).
func Start(t testing.TB, ctx context.Context, chromium string, width, height int, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	opts := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]),
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox, // root in a container
		chromedp.WindowSize(width, height),
	)
	opts = append(opts, extra...)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	browser, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(browser); err != nil {
		t.Fatalf("start %s: %v", chromium, err)
	}
	return browser
}

// Tab is one browser session; its waits are bounded by Timeout.
type Tab struct {
	T       testing.TB
	Name    string
	Ctx     context.Context
	Timeout time.Duration
}

// NewTab opens a session of its own (a separate browser context, as a
// private window would be) in browser.
func NewTab(t testing.TB, browser context.Context, name string, timeout time.Duration) *Tab {
	c, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	return &Tab{T: t, Name: name, Ctx: c, Timeout: timeout}
}

// Do runs steps, failing the test with what on error.
func (b *Tab) Do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.T.Helper()
	if err := chromedp.Do(b.Ctx, steps...); err != nil {
		b.T.Fatalf("%s: %s: %v", b.Name, what, err)
	}
}

// Eval evaluates a JavaScript expression in the page.
func Eval[T any](b *Tab, expr string) T {
	b.T.Helper()
	v, err := chromedp.Run(b.Ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.T.Fatalf("%s: evaluate %s: %v", b.Name, expr, err)
	}
	return v
}

// WaitFor polls a JavaScript condition in the page until it holds, for at
// most timeout.
func WaitFor(cond string, timeout time.Duration) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Poll[bool](cond, chromedp.WithPollingTimeout(timeout))(ctx, t)
		return err
	})
}

// Wait waits, within the tab's Timeout, until cond holds in the page.
func (b *Tab) Wait(what, cond string) {
	b.T.Helper()
	b.Do("wait for "+what, WaitFor(cond, b.Timeout))
}

// Text is the visible text of the element sel ("" if hidden or absent),
// its white space collapsed.
func (b *Tab) Text(sel string) string {
	b.T.Helper()
	s := Eval[string](b, fmt.Sprintf(`(e => e && !e.hidden ? e.textContent : "")(document.querySelector(%q))`, sel))
	return strings.Join(strings.Fields(s), " ")
}

// Screenshot saves the whole page as a PNG at path.
func (b *Tab) Screenshot(path string) {
	b.T.Helper()
	png, err := chromedp.Run(b.Ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.T.Fatalf("%s: screenshot: %v", b.Name, err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.T.Fatal(err)
	}
	b.T.Logf("screenshot of %s: %s", b.Name, path)
}
