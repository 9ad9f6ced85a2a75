package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// envPrefix starts the environment variable behind every flag.
//
// The rule, which --help footers and README's "Environment variables"
// repeat: a flag several commands share with one meaning reads
// DYNKV_<FLAG> wherever it appears. Those are dynkv serve's flags (the
// node's configuration: --node-id reads DYNKV_NODE_ID) and whatever other
// commands take with the same meaning (dev's --n, healthcheck's
// --http-addr), the client's connection flags (--endpoints, --ca-cert,
// --client-cert, --client-key, --token), the key commands' --bucket (where
// the keys are, like --endpoints) and --log-level/--log-format. Any
// other flag is its command's own and reads DYNKV_<COMMAND>_<FLAG>
// (DYNKV_RING_PARTITIONS, DYNKV_LOADTEST_TIMEOUT), so no variable is read
// by two flags of different meaning. Flags that a variable forgotten in a
// shell must not turn on for every later command (--context, --overwrite,
// --yes) read no variable.
const envPrefix = "DYNKV_"

// envFooter ends every command's --help: the rule above, in brief.
const envFooter = `Environment: a flag shared by several commands with one meaning (serve's, the
client's --endpoints/--ca-cert/--client-cert/--client-key/--token, the key
commands' --bucket, --log-*) reads DYNKV_<FLAG>; any other reads
DYNKV_<COMMAND>_<FLAG>; flags marked "command line only" read none. An empty
variable counts as unset.
`

// doubleDashes gives every one-dash flag name in msg its second dash: a
// dash before a lower-case letter, at the start or after white space, as
// in "flag provided but not defined: -foo".
func doubleDashes(msg string) string {
	var b strings.Builder
	for i := 0; i < len(msg); i++ {
		if msg[i] == '-' && i+1 < len(msg) && 'a' <= msg[i+1] && msg[i+1] <= 'z' && (i == 0 || isSpace(msg[i-1])) {
			b.WriteByte('-')
		}
		b.WriteByte(msg[i])
	}
	return b.String()
}

// isSpace is the white space of RE2's \s: tab, newline, form feed, carriage
// return and space.
func isSpace(c byte) bool {
	return c == '\t' || c == '\n' || c == '\f' || c == '\r' || c == ' '
}

// envName is the environment variable of a shared flag: DYNKV_<FLAG>.
func envName(flagName string) string {
	return envPrefix + envWord(flagName)
}

// envWord is a flag or command name as it appears in a variable.
func envWord(name string) string {
	return strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// commandScope is the command of a usage line, "dynkv cert create-ca
// [flags]" → "cert": the group names the variables of a group's flags, so
// --certs-dir reads DYNKV_CERT_CERTS_DIR in every cert subcommand. Usage
// lines not starting with "dynkv " have no scope: their flags read
// DYNKV_<FLAG>.
func commandScope(usage string) string {
	words := strings.Fields(usage)
	if len(words) < 2 || words[0] != "dynkv" {
		return ""
	}
	return words[1]
}

// flags is a flag.FlagSet whose flags also come from the environment.
// Precedence: a flag on the command line, then its DYNKV_ variable (an empty
// variable counts as unset), then the default.
type flags struct {
	*flag.FlagSet
	usage       string            // "dynkv serve [flags]"
	summary     string            // what the command does, for --help
	defaultText map[string]string // shown instead of a computed default
	// commandLineOnly names flags no environment variable sets: those that
	// act on one invocation (--context, --yes) or destroy something
	// (--overwrite), which a variable left exported in a shell must not
	// turn on for every later command.
	commandLineOnly map[string]bool
	// scope is the command whose own flags read DYNKV_<SCOPE>_<FLAG>;
	// empty for serve, whose flags are the node's shared configuration.
	scope string
	// shared names the flags that read DYNKV_<FLAG>: see envPrefix.
	shared map[string]bool
}

func newFlags(usage, summary string) *flags {
	fs := flag.NewFlagSet(usage, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are returned, help is printed by the caller
	fs.Usage = func() {}
	return &flags{FlagSet: fs, usage: usage, summary: summary, defaultText: map[string]string{}, commandLineOnly: map[string]bool{},
		scope: commandScope(usage), shared: map[string]bool{}}
}

// share marks flags that several commands take with one meaning: they read
// DYNKV_<FLAG> (see envPrefix).
func (f *flags) share(names ...string) {
	for _, n := range names {
		f.shared[n] = true
	}
}

// env is the variable a flag reads, or "" for a command-line-only flag.
func (f *flags) env(name string) string {
	switch {
	case f.commandLineOnly[name]:
		return ""
	case f.shared[name] || f.scope == "":
		return envName(name)
	}
	return envPrefix + envWord(f.scope) + "_" + envWord(name)
}

// parse reads args, then the environment for every flag args left unset.
// It returns flag.ErrHelp for -h/--help and a one-line error otherwise.
func (f *flags) parse(args []string, lookupEnv func(string) (string, bool)) error {
	if err := f.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		// The flag package names flags with one dash; our help uses two.
		return errors.New(doubleDashes(err.Error()))
	}
	if f.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", f.Arg(0))
	}
	onCommandLine := map[string]bool{}
	f.Visit(func(fl *flag.Flag) { onCommandLine[fl.Name] = true })
	var errs []error
	f.VisitAll(func(fl *flag.Flag) {
		name := f.env(fl.Name)
		if onCommandLine[fl.Name] || name == "" {
			return
		}
		v, ok := lookupEnv(name)
		if !ok || v == "" {
			return
		}
		if err := f.Set(fl.Name, v); err != nil {
			errs = append(errs, fmt.Errorf("invalid value %q for %s (--%s): %v", v, name, fl.Name, err))
		}
	})
	return errors.Join(errs...)
}

// parseInterspersed parses flags placed anywhere among args, so that both
// "create NAME --role read" and "create --role read NAME" work, and returns
// the positional arguments. -o is short for --output where there is one;
// "--" ends the flags.
func (f *flags) parseInterspersed(args []string, lookupEnv func(string) (string, bool)) ([]string, error) {
	var flagArgs, positional []string
	hasOutput := f.Lookup("output") != nil
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			positional = append(positional, args[i+1:]...)
			i = len(args)
			continue
		case hasOutput && a == "-o":
			a = "--output"
		case hasOutput && strings.HasPrefix(a, "-o="):
			a = "--output=" + a[len("-o="):]
		}
		if len(a) < 2 || a[0] != '-' {
			positional = append(positional, a)
			continue
		}
		flagArgs = append(flagArgs, a)
		name := strings.TrimLeft(a, "-")
		fl := f.Lookup(name)
		if strings.Contains(name, "=") || fl == nil {
			continue // a value given inline, or an unknown flag parse names
		}
		if b, ok := fl.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			continue
		}
		if i+1 < len(args) {
			i++
			flagArgs = append(flagArgs, args[i])
		}
	}
	return positional, f.parse(flagArgs, lookupEnv)
}

// isSet reports whether a flag came from the command line or environment.
func (f *flags) isSet(name string) bool {
	set := false
	f.Visit(func(fl *flag.Flag) { set = set || fl.Name == name })
	return set
}

// printUsage lists every flag with its environment variable and default.
func (f *flags) printUsage(w io.Writer) {
	fmt.Fprintf(w, "Usage: %s\n\n%s\n", f.usage, f.summary)
	defer fmt.Fprint(w, "\n"+envFooter)
	if !hasFlags(f.FlagSet) {
		return
	}
	fmt.Fprint(w, "\nFlags (each also read from the environment variable shown; the command line wins):\n")
	f.VisitAll(func(fl *flag.Flag) {
		arg, usage := flag.UnquoteUsage(fl)
		head := "  --" + fl.Name
		if arg != "" {
			head += " " + arg
		}
		def := fl.DefValue
		if t, ok := f.defaultText[fl.Name]; ok {
			def = t
		}
		switch {
		case def == "":
			def = "none"
		case def == "false" && arg == "":
			def = "off"
		}
		env := f.env(fl.Name)
		if env == "" {
			fmt.Fprintf(w, "%s\n        %s\n        command line only, default %s\n", head, usage, def)
			return
		}
		fmt.Fprintf(w, "%s\n        %s\n        env %s, default %s\n", head, usage, env, def)
	})
}

func hasFlags(fs *flag.FlagSet) bool {
	has := false
	fs.VisitAll(func(*flag.Flag) { has = true })
	return has
}

// choiceValue is a string flag limited to a fixed set of values.
type choiceValue struct {
	p       *string
	choices []string
}

func (f *flags) choice(p *string, name, def string, choices []string, usage string) {
	*p = def
	f.Var(&choiceValue{p: p, choices: choices}, name, usage)
}

func (c *choiceValue) String() string {
	if c.p == nil {
		return ""
	}
	return *c.p
}

func (c *choiceValue) Set(s string) error {
	if !slices.Contains(c.choices, s) {
		return fmt.Errorf("want one of %s", strings.Join(c.choices, ", "))
	}
	*c.p = s
	return nil
}

// listValue is a comma-separated list; repeating the flag appends.
type listValue struct{ p *[]string }

func (f *flags) list(p *[]string, name, usage string) {
	f.Var(listValue{p}, name, usage)
}

func (l listValue) String() string {
	if l.p == nil {
		return ""
	}
	return strings.Join(*l.p, ",")
}

func (l listValue) Set(s string) error {
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			*l.p = append(*l.p, item)
		}
	}
	return nil
}

// bytesValue is a size in bytes: a plain number or one with a KiB, MiB or
// GiB suffix.
type bytesValue struct{ p *int }

func (f *flags) bytes(p *int, name string, def int, usage string) {
	*p = def
	f.Var(bytesValue{p}, name, usage)
}

// byteUnit is a size suffix and the bytes it stands for.
type byteUnit struct {
	suffix string
	size   int
}

// byteUnits lists the suffixes, largest first: String picks the largest
// that divides the size, Set must try "B" after the others.
func byteUnits() [4]byteUnit {
	return [...]byteUnit{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}}
}

func (b bytesValue) String() string {
	if b.p == nil {
		return ""
	}
	for _, u := range byteUnits() {
		if *b.p != 0 && *b.p%u.size == 0 {
			return strconv.Itoa(*b.p/u.size) + u.suffix
		}
	}
	return strconv.Itoa(*b.p)
}

func (b bytesValue) Set(s string) error {
	num, mult := s, 1
	for _, u := range byteUnits() {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			num, mult = n, u.size
			break
		}
	}
	n, err := strconv.Atoi(strings.TrimSpace(num))
	if err != nil || n < 1 || n > (1<<31-1)/mult {
		return errors.New("want a positive size such as 1048576, 512KiB or 1MiB")
	}
	*b.p = n * mult
	return nil
}
