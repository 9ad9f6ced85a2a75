package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	sdk "github.com/dynkv/dynkv/client"
)

// The cluster views: members and ring, human-readable tables or -o json.

func runMembers(args []string, stdin io.Reader, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	c := newKVCmd("members", "dynkv members [flags]",
		"List the cluster's members as the first node that answers sees them: ID, status\n"+
			"(alive, suspect, failed, leaving, left) and addresses.", "text", "json")
	return c.run(args, stdout, stderr, lookupEnv, [2]int{0, 0}, func(ctx context.Context, cl *sdk.Client, _ []string) error {
		ms, err := cl.Members(ctx)
		if err != nil {
			return err
		}
		slices.SortFunc(ms, func(a, b sdk.Member) int { return strings.Compare(a.ID, b.ID) })
		if c.output == "json" {
			return writeJSON(stdout, ms)
		}
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tSTATUS\tHTTP\tGOSSIP\tTAGS")
		for _, m := range ms {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", m.ID, m.Status, orDash(m.HTTPAddr), orDash(m.GossipAddr), tags(m.Tags))
		}
		return tw.Flush()
	})
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func tags(t map[string]string) string {
	var kv []string
	for k, v := range t {
		kv = append(kv, k+"="+v)
	}
	slices.Sort(kv)
	return orDash(strings.Join(kv, ","))
}

func runRing(args []string, stdin io.Reader, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	c := newKVCmd("ring", "dynkv ring [flags]",
		"Show how partitions are placed: per node, the partitions it leads (first in the\n"+
			"preference list) and replicates. --key shows one key's partition, preference list and\n"+
			"fallbacks; --partitions lists every partition's preference list. All of it is for\n"+
			"the keys of --bucket, whose N it shows. Nodes in a zone\n"+
			"(serve --zone) show it: a ZONE column, and node(zone) in lists.", "text", "json")
	var (
		key, bucket string
		partitions  bool
	)
	c.f.StringVar(&key, "key", "", "show where `KEY` lives")
	bucketFlag(c.f, &bucket)
	c.f.BoolVar(&partitions, "partitions", false, "list every partition's preference list")
	return c.run(args, stdout, stderr, lookupEnv, [2]int{0, 0}, func(ctx context.Context, cl *sdk.Client, _ []string) error {
		if key != "" {
			p, err := cl.Bucket(bucket).Placement(ctx, key)
			if err != nil {
				return err
			}
			if c.output == "json" {
				return writeJSON(stdout, p)
			}
			tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintf(tw, "key\t%q\n", p.Key)
			if p.Bucket != "" { // older servers do not say
				fmt.Fprintf(tw, "bucket\t%s (N=%d)\n", p.Bucket, p.N)
			}
			fmt.Fprintf(tw, "partition\t%d\n", p.Partition)
			fmt.Fprintf(tw, "preference list\t%s\n", orDash(withZones(p.PreferenceList, p.Zones)))
			fmt.Fprintf(tw, "fallbacks\t%s\n", orDash(withZones(p.Fallbacks, p.Zones)))
			return tw.Flush()
		}
		r, err := cl.Bucket(bucket).Ring(ctx)
		if err != nil {
			return err
		}
		if c.output == "json" {
			return writeJSON(stdout, r)
		}
		if r.Bucket != "" && r.Bucket != sdk.DefaultBucket {
			fmt.Fprintf(stdout, "bucket %s: ", r.Bucket)
		}
		fmt.Fprintf(stdout, "%d partitions, N=%d, %d members%s\n\n", r.Partitions, r.N, len(r.Members), zonesSummary(r.Zones))
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		if partitions {
			fmt.Fprintln(tw, "PARTITION\tPREFERENCE LIST")
			for _, p := range r.PreferenceLists {
				fmt.Fprintf(tw, "%d\t%s\n", p.Partition, withZones(p.PreferenceList, r.Zones))
			}
			return tw.Flush()
		}
		lead, replica := map[string]int{}, map[string]int{}
		for _, p := range r.PreferenceLists {
			for i, id := range p.PreferenceList {
				if i == 0 {
					lead[id]++
				}
				replica[id]++
			}
		}
		zoned := zonesSummary(r.Zones) != ""
		fmt.Fprintln(tw, "NODE\t"+zoneColumn(zoned, "ZONE\t")+"LEADS\tREPLICATES\tSHARE")
		for _, id := range r.Members {
			share := 0.0
			if r.Partitions > 0 {
				share = 100 * float64(lead[id]) / float64(r.Partitions)
			}
			fmt.Fprintf(tw, "%s\t%s%d\t%d\t%.1f%%\n", id, zoneColumn(zoned, orDash(r.Zones[id])+"\t"), lead[id], replica[id], share)
		}
		return tw.Flush()
	})
}
