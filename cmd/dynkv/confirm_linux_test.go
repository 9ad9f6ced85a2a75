package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"unsafe"
)

// openPTY opens a pseudo-terminal: the test writes to the controller, the
// command reads the terminal.
func openPTY(t *testing.T) (controller, terminal *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open /dev/ptmx: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	var unlock int32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, m.Fd(), syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); e != 0 {
		t.Fatalf("unlock the pty: %v", e)
	}
	var n uint32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, m.Fd(), syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); e != 0 {
		t.Fatalf("pty number: %v", e)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open the pty: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return m, s
}

// cliOnTerminal runs dynkv with a terminal for stdin, answering answer.
func cliOnTerminal(t *testing.T, answer string, args ...string) cliResult {
	t.Helper()
	controller, terminal := openPTY(t)
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = cleanEnv()
	cmd.Stdin = terminal
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if _, err := controller.WriteString(answer + "\n"); err != nil {
		t.Fatal(err)
	}
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("dynkv %q did not finish in %v", args, deadline)
	}
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("run dynkv %q: %v", args, err)
	}
	return cliResult{stdout: stdout.String(), stderr: stderr.String(), code: cmd.ProcessState.ExitCode()}
}

// TestRemoveAsksOnTerminal answers dynkv remove's question on a terminal:
// "n" does nothing, "y" goes ahead (to the cluster's refusal of an unknown
// node, which shows the request was sent).
func TestRemoveAsksOnTerminal(t *testing.T) {
	_, eps := cliCluster(t)
	r := cliOnTerminal(t, "n", "remove", "n9", "--endpoints", eps)
	if r.code != 1 || !strings.Contains(r.stderr, "Remove n9 from the cluster for good? This cannot be undone. [y/N]") ||
		!strings.Contains(r.stderr, "not confirmed; nothing done") {
		t.Errorf("answer n: exit %d, stderr %q; want 1, the question and nothing done", r.code, r.stderr)
	}
	r = cliOnTerminal(t, "y", "remove", "n9", "--endpoints", eps)
	if r.code != 1 || !strings.Contains(r.stderr, "unknown_node") {
		t.Errorf("answer y: exit %d, stderr %q; want the remove sent, and refused as unknown_node", r.code, r.stderr)
	}
}
