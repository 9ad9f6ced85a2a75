package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	sdk "github.com/dynkv/dynkv/client"
	"github.com/dynkv/dynkv/node/membership"
)

// printBucketAgreement says whether the members hold the same bucket
// props, by the digest of its registry that each announces in gossip
// (node/buckets). After a change they differ for about a gossip round, and
// longer only while a member cannot be reached; a member of a version
// before buckets announces none.
func printBucketAgreement(w io.Writer, members []memberStatus) {
	byDigest := map[string][]string{}
	for _, m := range members {
		if m.Status != sdk.StatusLeft {
			d := m.Tags[membership.TagBuckets]
			byDigest[d] = append(byDigest[d], m.ID)
		}
	}
	name := func(d string) string {
		if d == "" {
			return "none announced"
		}
		return "registry " + d
	}
	digests := slices.Sorted(maps.Keys(byDigest))
	switch len(digests) {
	case 0:
		return
	case 1:
		fmt.Fprintf(w, "\nBucket props: every member has the same (%s)\n", name(digests[0]))
		return
	}
	fmt.Fprintln(w, "\nBucket props: members differ until gossip brings them together:")
	for _, d := range digests {
		fmt.Fprintf(w, "  %s: %s\n", name(d), strings.Join(byDigest[d], " "))
	}
}
