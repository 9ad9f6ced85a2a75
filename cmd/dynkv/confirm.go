package main

// Confirmation before the membership changes no command can undo: a leave
// or a remove is for good (docs/DESIGN.md, membership).

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// yesFlag registers --yes on a command that asks first. No variable sets
// it: one exported once would silence every later question.
func yesFlag(c *kvCmd, stdin io.Reader, stderr io.Writer, question func(args []string) string) {
	var yes bool
	c.f.BoolVar(&yes, "yes", false, "do it without asking (needed when stdin is not a terminal)")
	c.f.commandLineOnly["yes"] = true
	c.confirm = func(args []string) error {
		if yes {
			return nil
		}
		return confirm(stdin, stderr, question(args))
	}
}

// confirm asks question on a terminal and wants "y" or "yes". Without a
// terminal it refuses at once rather than wait for an answer that a script
// or a pipe will never give.
func confirm(stdin io.Reader, stderr io.Writer, question string) error {
	if !isTerminal(stdin) {
		return usageError{fmt.Errorf("will not %s without confirmation: stdin is not a terminal; pass --yes", question)}
	}
	fmt.Fprintf(stderr, "%s? This cannot be undone. [y/N] ", upperFirst(question))
	answer, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read the answer: %w", err)
	}
	switch strings.ToLower(strings.TrimSpace(answer)) {
	case "y", "yes":
		return nil
	}
	return errors.New("not confirmed; nothing done")
}

// isTerminal reports whether r is a character device such as a terminal.
// /dev/null passes too, and then reads an empty answer: a refusal.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
