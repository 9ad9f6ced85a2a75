package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	sdk "github.com/dynkv/dynkv/client"
)

func runLs(args []string, stdin io.Reader, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	c := newKVCmd("ls", "dynkv ls [flags]",
		"List the live keys of a bucket (--bucket), one a line, page by page as the cluster\n"+
			"answers (deleted keys are not listed). The order is by partition, then by key. A listing\n"+
			"reads every record of every partition in range from one replica each: it costs\n"+
			"what it reads. Keys that are not printable text are shown quoted, Go style.\n"+
			"-o json prints one JSON string a line instead.", "text", "json")
	var (
		prefix, bucket string
		page           int
	)
	c.f.StringVar(&prefix, "prefix", "", "list only keys starting with `PREFIX`")
	bucketFlag(c.f, &bucket)
	c.f.IntVar(&page, "page", 1000, "keys per request, a `count` 1..10000")
	// A listing of many keys takes longer than one request.
	c.defaultTimeout("1h")
	return c.run(args, stdout, stderr, lookupEnv, [2]int{0, 0}, func(ctx context.Context, cl *sdk.Client, _ []string) error {
		if page < 1 || page > 10000 {
			return usageError{fmt.Errorf("--page %d: want 1..10000", page)}
		}
		w := bufio.NewWriter(stdout)
		defer w.Flush()
		after := ""
		for {
			p, err := cl.Bucket(bucket).List(ctx, prefix, after, page)
			if err != nil {
				return err
			}
			for _, k := range p.Keys {
				if err := printKey(w, k, c.output == "json"); err != nil {
					return err
				}
			}
			if p.Next == "" {
				return nil
			}
			after = p.Next
			if err := w.Flush(); err != nil { // stream: a page at a time
				return err
			}
		}
	})
}

func printKey(w io.Writer, k string, asJSON bool) error {
	var err error
	switch {
	case asJSON:
		var b []byte
		if b, err = json.Marshal(k); err == nil {
			_, err = fmt.Fprintf(w, "%s\n", b)
		}
	case isText([]byte(k)) && !strings.ContainsAny(k, "\n\r\""):
		_, err = fmt.Fprintln(w, k)
	default:
		_, err = fmt.Fprintln(w, strconv.Quote(k))
	}
	return err
}
