package main

// dynkv bucket set --wait: props spread by gossip, so the command asks
// every member for them until all hold the version just set.

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	sdk "github.com/dynkv/dynkv/client"
)

// bucketPollEvery is how often bucket set --wait asks the members.
const bucketPollEvery = 200 * time.Millisecond

// bucketLag is one round of asking: the members asked, those without the
// version (with why), and one that holds a version above it, if any.
type bucketLag struct {
	asked      int
	lacking    []string
	supersedes string // "n2 has version 5 by n3"
}

// waitBucketProps asks every serving member (alive or leaving: a failed
// or suspect one may never answer, and learns the props when it is back)
// for bucket name's props until all hold version want, and returns how
// many were asked. It fails when the context ends first, naming the
// members that lack it, and at once when a member holds a higher version:
// this set was superseded and can never reach every node.
func waitBucketProps(ctx context.Context, cl *sdk.Client, name string, want sdk.BucketVersion) (int, error) {
	tick := time.NewTicker(bucketPollEvery)
	defer tick.Stop()
	var last bucketLag
	for {
		ms, err := cl.Members(ctx)
		if err == nil {
			// A round the deadline cut short failed its asks for that
			// alone: the round before it says who really lags.
			if round := askBucketProps(ctx, cl, name, want, ms); ctx.Err() == nil || last.asked == 0 {
				last = round
			}
			switch {
			case last.supersedes != "":
				return 0, fmt.Errorf("set, then superseded (%s): dynkv bucket get %s shows the props in force", last.supersedes, name)
			case len(last.lacking) == 0:
				return last.asked, nil
			}
		}
		select {
		case <-ctx.Done():
			if last.asked == 0 { // no round got as far as the members
				return 0, fmt.Errorf("waiting for every node to have the props: %w", err)
			}
			return 0, fmt.Errorf("not every node had the props in time: %s", strings.Join(last.lacking, "; "))
		case <-tick.C:
		}
	}
}

func askBucketProps(ctx context.Context, cl *sdk.Client, name string, want sdk.BucketVersion, ms []sdk.Member) bucketLag {
	var lag bucketLag
	slices.SortFunc(ms, func(a, b sdk.Member) int { return strings.Compare(a.ID, b.ID) })
	for _, m := range ms {
		if m.Status != sdk.StatusAlive && m.Status != sdk.StatusLeaving {
			continue
		}
		lag.asked++
		info, err := cl.BucketPropsAt(ctx, m, name)
		switch {
		case err != nil:
			lag.lacking = append(lag.lacking, fmt.Sprintf("%s: %v", m.ID, err))
		case info.Version == nil || compareVersions(*info.Version, want) < 0:
			lag.lacking = append(lag.lacking, m.ID+" has "+versionText(info.Version))
		case compareVersions(*info.Version, want) > 0:
			lag.supersedes = m.ID + " has version " + versionText(info.Version)
		}
	}
	return lag
}

// compareVersions orders versions as the registry does: by counter, then
// by the node that set them. (Two sets with both equal are told apart by
// their props, which only the nodes compare; such a tie reads as equal.)
func compareVersions(a, b sdk.BucketVersion) int {
	if a.Counter != b.Counter {
		if a.Counter < b.Counter {
			return -1
		}
		return 1
	}
	return strings.Compare(a.Node, b.Node)
}
