package main

// `dynkv completion bash|zsh|fish` prints a shell completion script. The
// words come from the commands' own --help (commandDocs), so a new flag or
// command is completed without anyone editing a script.

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

const completionSummary = `Print a completion script for SHELL (bash, zsh or fish): commands, the
subcommands of cert, token, keyring and bucket, and every command's flags. Load it with
  bash:  source <(dynkv completion bash)      (or save it in /etc/bash_completion.d/)
  zsh:   source <(dynkv completion zsh)       (or save it as _dynkv in your $fpath)
  fish:  dynkv completion fish | source       (or save it in ~/.config/fish/completions/dynkv.fish)`

func runCompletion(args []string, _ io.Reader, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	f := newFlags("dynkv completion bash|zsh|fish", completionSummary)
	pos, err := f.parseInterspersed(args, lookupEnv)
	if err == nil && len(pos) != 1 {
		err = errors.New("want one shell: bash, zsh or fish")
	}
	switch {
	case errors.Is(err, flag.ErrHelp):
		f.printUsage(stdout)
		return 0
	case err != nil:
		fmt.Fprintf(stderr, "dynkv completion: %v (see dynkv completion --help)\n", err)
		return 2
	}
	write := map[string]func(io.Writer, completionWords) error{"bash": writeBash, "zsh": writeZsh, "fish": writeFish}[pos[0]]
	if write == nil {
		fmt.Fprintf(stderr, "dynkv completion: unknown shell %q; want bash, zsh or fish (see dynkv completion --help)\n", pos[0])
		return 2
	}
	if err := write(stdout, wordsToComplete()); err != nil {
		fmt.Fprintf(stderr, "dynkv completion: %v\n", err)
		return 1
	}
	return 0
}

// completionWords maps a command path to what completes after it: "" to
// the top-level words, a group ("cert") to its subcommands, any other
// command to its flags, with dashes.
type completionWords map[string][]string

func wordsToComplete() completionWords {
	words := completionWords{"": topLevelNames(), "help": topLevelNames()}
	shells := []string{"bash", "zsh", "fish", "--help"}
	for group, subs := range commandGroups() {
		words[group] = slices.Sorted(maps.Keys(subs))
	}
	for _, d := range commandDocs() {
		flags := []string{"--help"}
		for _, fl := range d.flags {
			flags = append(flags, "--"+fl.name)
		}
		words[d.path] = flags
	}
	words["completion"] = shells
	return words
}

// paths are the keys in a stable order, for a reproducible script.
func (w completionWords) paths() []string { return slices.Sorted(maps.Keys(w)) }

// groupPattern is the case pattern of the group commands: "cert|keyring|token".
func groupPattern() string {
	return strings.Join(slices.Sorted(maps.Keys(commandGroups())), "|")
}

// shellPathLoop is bash's and zsh's loop over the words before the cursor
// that sets cmdpath to the command ("get") or group subcommand ("cert
// create-ca") typed, skipping flags. loop is the C-style for header, word
// the shell's expression of the i-th word.
func shellPathLoop(loop, word string) string {
	return `    for ((` + loop + `)); do
        word=` + word + `
        [[ $word == -* ]] && continue
        if [[ -z $cmdpath ]]; then
            cmdpath=$word
        else
            case $cmdpath in
                ` + groupPattern() + `) cmdpath="$cmdpath $word" ;;
            esac
            break
        fi
    done`
}

func writeBash(w io.Writer, words completionWords) error {
	var b strings.Builder
	b.WriteString(`# bash completion for dynkv, printed by 'dynkv completion bash'.
_dynkv() {
    local cur=${COMP_WORDS[COMP_CWORD]} cmdpath="" word i
` + shellPathLoop("i = 1; i < COMP_CWORD; i++", "${COMP_WORDS[i]}") + `
    local words=""
    case $cmdpath in
`)
	for _, p := range words.paths() {
		fmt.Fprintf(&b, "        %q) words=%q ;;\n", p, strings.Join(words[p], " "))
	}
	b.WriteString(`    esac
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o default -F _dynkv dynkv
`)
	_, err := io.WriteString(w, b.String())
	return err
}

func writeZsh(w io.Writer, words completionWords) error {
	var b strings.Builder
	b.WriteString(`#compdef dynkv
# zsh completion for dynkv, printed by 'dynkv completion zsh'.
_dynkv() {
    local cmdpath="" word i
` + shellPathLoop("i = 2; i < CURRENT; i++", "${words[i]}") + `
    local -a candidates
    case $cmdpath in
`)
	for _, p := range words.paths() {
		fmt.Fprintf(&b, "        %q) candidates=(%s) ;;\n", p, strings.Join(words[p], " "))
	}
	b.WriteString(`    esac
    compadd -- $candidates
}
if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
    _dynkv "$@"
else
    compdef _dynkv dynkv
fi
`)
	_, err := io.WriteString(w, b.String())
	return err
}

func writeFish(w io.Writer, words completionWords) error {
	var b strings.Builder
	b.WriteString(`# fish completion for dynkv, printed by 'dynkv completion fish'.
function __dynkv_path
    set -l cmdpath
    for word in (commandline -opc)[2..-1]
        string match -q -- '-*' $word; and continue
        set -a cmdpath $word
        if test (count $cmdpath) -eq 2; or not contains -- $cmdpath[1] ` + strings.ReplaceAll(groupPattern(), "|", " ") + `
            break
        end
    end
    string join ' ' -- $cmdpath
end
function __dynkv_at
    set -l cmdpath (__dynkv_path)
    test "$cmdpath" = "$argv"
end
complete -c dynkv -f
`)
	for _, p := range words.paths() {
		cond := fmt.Sprintf("__dynkv_at %s", p)
		for _, word := range words[p] {
			if name, ok := strings.CutPrefix(word, "--"); ok {
				fmt.Fprintf(&b, "complete -c dynkv -n '%s' -l %s\n", cond, name)
			} else {
				fmt.Fprintf(&b, "complete -c dynkv -n '%s' -a %s\n", cond, word)
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
