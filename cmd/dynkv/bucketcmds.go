package main

// The bucket commands: list buckets, show one's props and set them
// (GET /buckets, GET and PUT /buckets/{bucket}/props), and the --bucket
// flag the key commands share.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	sdk "github.com/dynkv/dynkv/client"
)

// bucketFlag registers the --bucket of a command on keys. It is shared
// (DYNKV_BUCKET), like --endpoints: it says where the keys are, the same
// for every command that takes it, so that a shell can work in one bucket.
func bucketFlag(f *flags, p *string) {
	*p = sdk.DefaultBucket
	f.Var(bucketValue{p}, "bucket", "the `bucket` of the keys (dynkv bucket list shows those with props)")
	f.share("bucket")
}

// bucketValue is a bucket name, refused at parsing (exit 2) when the
// server would refuse it.
type bucketValue struct{ p *string }

func (b bucketValue) String() string {
	if b.p == nil {
		return ""
	}
	return *b.p
}

func (b bucketValue) Set(s string) error {
	if err := sdk.CheckBucketName(s); err != nil {
		return errors.New(strings.TrimPrefix(err.Error(), sdk.ErrBadRequest.Error()+": "))
	}
	*b.p = s
	return nil
}

const bucketUsage = `Usage: dynkv bucket <subcommand> [flags]

Buckets are namespaces of keys, each with its own props: replicas (n), default
read and write quorums (r, w), the sibling and value caps, a default TTL and
the conflict mode (siblings, or lww: last writer wins). Keys without a bucket
are the bucket "default"'s. A bucket needs no creating: one whose props were
never set has the cluster's defaults. The key commands (get, put, delete, ls,
backup) take --bucket NAME, or DYNKV_BUCKET.

Subcommands:
  list              every bucket whose props were set, and default, with its props
  get NAME          one bucket's effective props and their version
  set NAME [flags]  replace a bucket's props (admin): flags not given go back to
                    the cluster's defaults, e.g. set carts --ttl 168h --conflict lww
Run 'dynkv bucket <subcommand> --help' for its flags.
`

func runBucket(args []string, _ io.Reader, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	return runSubcommand("bucket", bucketUsage, bucketSubs(), args, stdout, stderr, lookupEnv)
}

func bucketSubs() map[string]subcommand {
	return map[string]subcommand{"list": runBucketList, "get": runBucketGet, "set": runBucketSet}
}

func runBucketList(args []string, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	c := newKVCmd("bucket list", "dynkv bucket list [flags]",
		"List every bucket whose props were set, and the default bucket, with its effective\n"+
			"props (the cluster's defaults filling in what was not set) and their version\n"+
			"(none for a bucket never set). -o json prints {buckets: [{name, props, version}]}.",
		"text", "json")
	return c.run(args, stdout, stderr, lookupEnv, [2]int{0, 0}, func(ctx context.Context, cl *sdk.Client, _ []string) error {
		list, err := cl.Buckets(ctx)
		if err != nil {
			return err
		}
		if c.output == "json" {
			if list == nil {
				list = []sdk.BucketInfo{}
			}
			return writeJSON(stdout, map[string]any{"buckets": list})
		}
		return printBuckets(stdout, list)
	})
}

func printBuckets(w io.Writer, list []sdk.BucketInfo) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "BUCKET\tN\tR\tW\tMAX SIBLINGS\tMAX VALUE\tDEFAULT TTL\tCONFLICT\tVERSION")
	for _, b := range list {
		p := b.Props
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t%s\n", b.Name, p.N, p.R, p.W, p.MaxSiblings,
			humanBytes(int64(p.MaxValueBytes)), ttlText(p.DefaultTTL), p.Conflict, versionText(b.Version))
	}
	return tw.Flush()
}

func ttlText(d time.Duration) string {
	if d == 0 {
		return "none"
	}
	return d.String()
}

func versionText(v *sdk.BucketVersion) string {
	if v == nil {
		return "defaults"
	}
	return strconv.FormatUint(v.Counter, 10) + " by " + v.Node
}

func runBucketGet(args []string, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	c := newKVCmd("bucket get", "dynkv bucket get NAME [flags]",
		"Print bucket NAME's effective props: those set for it, the cluster's defaults filling\n"+
			"in the rest, and their version. -o json prints {bucket, props, version}.",
		"text", "json")
	return c.run(args, stdout, stderr, lookupEnv, [2]int{1, 1}, func(ctx context.Context, cl *sdk.Client, pos []string) error {
		if err := (bucketValue{new(string)}).Set(pos[0]); err != nil {
			return usageError{err}
		}
		info, err := cl.BucketProps(ctx, pos[0])
		if err != nil {
			return err
		}
		if c.output == "json" {
			return writeJSON(stdout, propsJSON{Bucket: info.Name, Props: info.Props, Version: info.Version})
		}
		return printProps(stdout, info)
	})
}

// propsJSON is bucket get's and set's -o json: the API's answer.
type propsJSON struct {
	Bucket         string             `json:"bucket"`
	Props          sdk.BucketProps    `json:"props"`
	Version        *sdk.BucketVersion `json:"version,omitempty"`
	AcknowledgedBy *int               `json:"acknowledged_by,omitempty"`
	Members        *int               `json:"members,omitempty"`
}

func printProps(w io.Writer, info sdk.BucketInfo) error {
	p := info.Props
	_, err := fmt.Fprintf(w, "bucket %s\n  n %d\n  r %d\n  w %d\n  max siblings %d\n  max value %s\n  default ttl %s\n  conflict %s\n  version %s\n",
		info.Name, p.N, p.R, p.W, p.MaxSiblings, humanBytes(int64(p.MaxValueBytes)), ttlText(p.DefaultTTL), p.Conflict, versionText(info.Version))
	return err
}

func runBucketSet(args []string, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	c := newKVCmd("bucket set", "dynkv bucket set NAME [flags]",
		"Replace bucket NAME's props; needs an admin token on a secured cluster. A flag not\n"+
			"given goes back to the cluster's default (so repeat the ones to keep: see dynkv\n"+
			"bucket get). With --n other than the cluster's, r and w default to a majority.\n"+
			"The change reaches every node by gossip; keys written before keep their TTL, and\n"+
			"each later write without --ttl gets the new default TTL. The props flags read no\n"+
			"variable: one left exported must not slip into every later set. With --wait, asks\n"+
			"every alive member until all have the new props (within --timeout), and fails if\n"+
			"another set superseded this one.\n"+
			"Prints the props now in force (-o json: {bucket, props, version, acknowledged_by, members}).",
		"text", "json")
	c.defaultTimeout("1m")
	var wait bool
	c.f.BoolVar(&wait, "wait", false, "wait until every alive member has the new props")
	var props sdk.BucketProps
	for _, fl := range []struct {
		p          *int
		name, text string
	}{
		{&props.N, "n", "replicas of each key, a `count` 1..16"},
		{&props.R, "r", "default read quorum, a `count` 1..n"},
		{&props.W, "w", "default write quorum, a `count` 1..n"},
		{&props.MaxSiblings, "max-siblings", "cap on a key's siblings, a `count` up to the nodes' --max-siblings"},
	} {
		c.f.IntVar(fl.p, fl.name, 0, fl.text)
		c.f.defaultText[fl.name] = "the cluster's"
		c.f.commandLineOnly[fl.name] = true
	}
	c.f.bytes(&props.MaxValueBytes, "max-value-bytes", 0, "cap on a value, a `size` such as 512KiB, up to the nodes' --max-value-bytes")
	c.f.DurationVar(&props.DefaultTTL, "ttl", 0, "default TTL of the bucket's writes, a `duration` such as 30m or 168h")
	c.f.choice(&props.Conflict, "conflict", "", []string{sdk.ConflictSiblings, sdk.ConflictLWW},
		"how concurrent writes are kept, a `mode`: siblings (all, for the reader to resolve) or lww (the latest only)")
	c.f.defaultText["max-value-bytes"], c.f.defaultText["ttl"], c.f.defaultText["conflict"] = "the cluster's", "none", "siblings"
	for _, name := range []string{"max-value-bytes", "ttl", "conflict"} {
		c.f.commandLineOnly[name] = true
	}
	return c.run(args, stdout, stderr, lookupEnv, [2]int{1, 1}, func(ctx context.Context, cl *sdk.Client, pos []string) error {
		if err := (bucketValue{new(string)}).Set(pos[0]); err != nil {
			return usageError{err}
		}
		if props.N < 0 || props.R < 0 || props.W < 0 || props.MaxSiblings < 0 || props.DefaultTTL < 0 {
			return usageError{fmt.Errorf("--n, --r, --w, --max-siblings and --ttl are positive (0: the cluster's default)")}
		}
		start := time.Now()
		res, err := cl.SetBucketProps(ctx, pos[0], props)
		if err != nil {
			return err
		}
		asked := 0
		if wait && res.Version != nil {
			if asked, err = waitBucketProps(ctx, cl, pos[0], *res.Version); err != nil {
				return err
			}
		}
		if c.output == "json" {
			return writeJSON(stdout, propsJSON{Bucket: res.Name, Props: res.Props, Version: res.Version,
				AcknowledgedBy: &res.AcknowledgedBy, Members: &res.Members})
		}
		if err := printProps(stdout, res.BucketInfo); err != nil {
			return err
		}
		if wait {
			_, err = fmt.Fprintf(stdout, "set; all %d alive members have it (%v)\n", asked, time.Since(start).Round(time.Millisecond))
			return err
		}
		_, err = fmt.Fprintf(stdout, "set; %d of %d nodes have it, the others learn it by gossip\n", res.AcknowledgedBy, res.Members)
		return err
	})
}
