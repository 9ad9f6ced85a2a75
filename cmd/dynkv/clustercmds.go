package main

// The membership commands: leave and remove (status is in status.go).
// Like the key commands they talk to the cluster through the SDK.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"slices"
	"time"

	sdk "github.com/dynkv/dynkv/client"
)

// leavePollEvery is how often leave --wait looks at the leaving node.
const leavePollEvery = 250 * time.Millisecond

func runLeave(args []string, stdin io.Reader, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	c := newKVCmd("leave", "dynkv leave [flags]",
		"Make a node leave the cluster for good: it announces that it is leaving (every ring\n"+
			"drops it and its partitions get new owners), hands all its data and hints off to\n"+
			"them, and then leaves gossip. The node must be up: a dead node cannot hand anything\n"+
			"off (use dynkv remove). Without --node, the node at the first endpoint leaves.\n"+
			"With --wait, prints progress until the node has left, within --timeout.\n"+
			"Asks first on a terminal; elsewhere (a script, a pipe) it refuses without --yes.\n"+
			"-o json prints {node, status, keys_handed_off, seconds} at the end.",
		"text", "json")
	// Waiting for a handoff takes longer than a request.
	c.defaultTimeout("5m")
	var (
		node string
		wait bool
	)
	c.f.StringVar(&node, "node", "", "the `ID` of the node that leaves")
	c.f.defaultText["node"] = "the node at the first endpoint"
	c.f.BoolVar(&wait, "wait", false, "wait until the node has left, printing progress")
	yesFlag(c, stdin, stderr, func([]string) string {
		if node == "" {
			return "make the node at " + c.endpoints[0] + " leave the cluster for good"
		}
		return "make " + node + " leave the cluster for good"
	})
	return c.run(args, stdout, stderr, lookupEnv, [2]int{0, 0}, func(ctx context.Context, cl *sdk.Client, _ []string) error {
		start := time.Now()
		// The leaving node's handoff counter before it starts, so progress
		// counts this leave's keys only.
		var baseline progress
		if wait {
			if m, ok := leavingMember(ctx, cl, node); ok {
				node = m.ID
				baseline, _ = leaveProgress(ctx, cl, m)
			}
		}
		id, err := cl.Leave(ctx, node)
		if err != nil {
			if errors.Is(err, sdk.ErrUnavailable) && ctx.Err() == nil {
				return fmt.Errorf("%w (a node that is down cannot hand its data off: remove it with dynkv remove)", err)
			}
			return err
		}
		if !wait {
			if c.output == "json" {
				return writeJSON(stdout, map[string]any{"node": id, "status": sdk.StatusLeaving})
			}
			_, err := fmt.Fprintf(stdout, "%s is leaving: it hands its data and hints off to the new owners, then leaves the cluster\n"+
				"(follow it with dynkv status, or dynkv leave --node %s --wait)\n", id, id)
			return err
		}
		if c.output == "text" {
			fmt.Fprintf(stdout, "%s is leaving: handing its data and hints off to the new owners\n", id)
		}
		p, err := waitLeft(ctx, cl, id, baseline, func(line string) {
			if c.output == "text" {
				fmt.Fprintln(stdout, line)
			}
		})
		handed := p.handedOff - baseline.handedOff
		if err != nil {
			return fmt.Errorf("%s is still leaving after %v (%s): %w; follow it with dynkv status",
				id, time.Since(start).Round(time.Second), p.line(id, baseline), err)
		}
		secs := time.Since(start).Seconds()
		if c.output == "json" {
			return writeJSON(stdout, map[string]any{"node": id, "status": sdk.StatusLeft, "keys_handed_off": handed, "seconds": math.Round(secs*10) / 10})
		}
		_, err = fmt.Fprintf(stdout, "%s has left the cluster: %d keys handed off in %.1fs\n", id, handed, secs)
		return err
	})
}

// leavingMember finds the member that leave will ask: node, or the one at
// the first endpoint. Not finding it only costs the progress baseline.
func leavingMember(ctx context.Context, cl *sdk.Client, node string) (sdk.Member, bool) {
	ms, err := cl.Members(ctx)
	if err != nil {
		return sdk.Member{}, false
	}
	first, _ := url.Parse(cl.Endpoints()[0])
	for _, m := range ms {
		if node != "" && m.ID == node || node == "" && first != nil && m.HTTPAddr == first.Host {
			return m, true
		}
	}
	return sdk.Member{}, false
}

// progress is what leave --wait knows of a leaving node.
type progress struct {
	handedOff    int64 // the node's handoff_keys, since it started
	hintsPending int64
	partitions   int // in progress
	keysLeft     int // in the partitions in progress
	lastError    string
	left         bool
	counted      bool // left: handedOff is the final count
}

func (p progress) line(id string, baseline progress) string {
	s := fmt.Sprintf("%s: %d keys handed off, %d left in %d partition(s) in progress, %d hints pending",
		id, p.handedOff-baseline.handedOff, p.keysLeft, p.partitions, p.hintsPending)
	if p.lastError != "" {
		s += "; retrying after: " + p.lastError
	}
	return s
}

// leaveProgress reads the leaving node's counters, and reports whether it
// could.
func leaveProgress(ctx context.Context, cl *sdk.Client, m sdk.Member) (progress, bool) {
	var p progress
	ns, err := cl.NodeStatus(ctx, m)
	if err != nil {
		return p, false
	}
	p.handedOff = ns.HandoffKeys
	for _, h := range ns.Hints {
		p.hintsPending += int64(h.Pending)
	}
	return p, true
}

// waitLeft polls the member list, the handoffs and the leaving node's
// status until the cluster sees id as left (or forgets it), reporting each
// new state to show. It returns the last state seen, and the context's
// error (with the last polling error) if time ran out.
func waitLeft(ctx context.Context, cl *sdk.Client, id string, baseline progress, show func(string)) (progress, error) {
	tick := time.NewTicker(leavePollEvery)
	defer tick.Stop()
	var (
		last    = baseline
		shown   string
		pollErr error
	)
	for {
		p, err := pollLeave(ctx, cl, id)
		if err == nil {
			if p.left {
				if !p.counted {
					p.handedOff = last.handedOff
				}
				return p, nil
			}
			if line := p.line(id, baseline); line != shown {
				show(line)
				shown = line
			}
			last = p
		}
		pollErr = err
		select {
		case <-ctx.Done():
			err := context.Cause(ctx)
			if pollErr != nil {
				err = fmt.Errorf("%w (last poll: %v)", err, pollErr)
			}
			return last, err
		case <-tick.C:
		}
	}
}

// pollLeave takes one look at the leaving node.
func pollLeave(ctx context.Context, cl *sdk.Client, id string) (progress, error) {
	ms, err := cl.Members(ctx)
	if err != nil {
		return progress{}, err
	}
	i := slices.IndexFunc(ms, func(m sdk.Member) bool { return m.ID == id })
	if i < 0 {
		return progress{left: true}, nil // forgotten: it left long enough ago
	}
	p, counted := leaveProgress(ctx, cl, ms[i])
	if ms[i].Left() {
		// A node that left may still answer, with its final count.
		p.left, p.counted = true, counted
		return p, nil
	}
	hs, err := cl.Handoffs(ctx)
	if err != nil {
		return progress{}, err
	}
	for _, h := range hs {
		if h.Node != id {
			continue
		}
		for _, ho := range h.Handoffs {
			p.partitions++
			p.keysLeft += ho.KeysLeft
			if ho.Error != "" {
				p.lastError = ho.Error
			}
		}
	}
	return p, nil
}

func runRemove(args []string, stdin io.Reader, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	c := newKVCmd("remove", "dynkv remove [flags] NODE",
		"Remove a dead node for good: it leaves the ring, and the survivors re-replicate its\n"+
			"partitions by anti-entropy. The node must be down (failed); a live node leaves with\n"+
			"dynkv leave instead, handing its data off. -o json prints {removed}.\n"+
			"Asks first on a terminal; elsewhere (a script, a pipe) it refuses without --yes.",
		"text", "json")
	yesFlag(c, stdin, stderr, func(args []string) string { return "remove " + args[0] + " from the cluster for good" })
	return c.run(args, stdout, stderr, lookupEnv, [2]int{1, 1}, func(ctx context.Context, cl *sdk.Client, pos []string) error {
		id := pos[0]
		if err := cl.Remove(ctx, id); err != nil {
			return err
		}
		if c.output == "json" {
			return writeJSON(stdout, map[string]string{"removed": id})
		}
		_, err := fmt.Fprintf(stdout, "removed %s: its partitions are re-replicated from the survivors by anti-entropy\n", id)
		return err
	})
}
