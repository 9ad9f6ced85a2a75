package main

// The membership commands: leave, remove and status. Like the key commands
// they talk to the cluster through the SDK; status also reads each
// member's own report (GET /cluster/status), which is an API, where metric
// names are not.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	sdk "github.com/dynkv/dynkv/client"
)

// leavePollEvery is how often leave --wait looks at the leaving node.
const leavePollEvery = 250 * time.Millisecond

func runLeave(args []string, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	c := newKVCmd("leave", "dynkv leave [flags]",
		"Make a node leave the cluster for good: it announces that it is leaving (every ring\n"+
			"drops it and its partitions get new owners), hands all its data and hints off to\n"+
			"them, and then leaves gossip. The node must be up: a dead node cannot hand anything\n"+
			"off (use dynkv remove). Without --node, the node at the first endpoint leaves.\n"+
			"With --wait, prints progress until the node has left, within --timeout.\n"+
			"-o json prints {node, status, keys_handed_off, seconds} at the end.",
		"text", "json")
	// Waiting for a handoff takes longer than a request.
	timeout := c.f.Lookup("timeout")
	timeout.Value.Set("5m")
	timeout.DefValue = timeout.Value.String()
	var (
		node string
		wait bool
	)
	c.f.StringVar(&node, "node", "", "the `ID` of the node that leaves")
	c.f.defaultText["node"] = "the node at the first endpoint"
	c.f.BoolVar(&wait, "wait", false, "wait until the node has left, printing progress")
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

func runRemove(args []string, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	c := newKVCmd("remove", "dynkv remove [flags] NODE",
		"Remove a dead node for good: it leaves the ring, and the survivors re-replicate its\n"+
			"partitions by anti-entropy. The node must be down (failed); a live node leaves with\n"+
			"dynkv leave instead, handing its data off. -o json prints {removed}.",
		"text", "json")
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

// nodeMetrics are the counters of one node that status shows, filled from
// its NodeStatus. Its JSON is status -o json's, unchanged since it was
// read from /metrics, so scripts reading it keep working.
type nodeMetrics struct {
	HintsPending     map[string]int64 `json:"hints_pending"`   // by target
	HintsDelivered   map[string]int64 `json:"hints_delivered"` // by target
	HintsRedirected  int64            `json:"hints_redirected"`
	TreesReady       int64            `json:"antientropy_trees_ready"`
	Exchanges        map[string]int64 `json:"antientropy_exchanges"` // by result
	KeysRepaired     int64            `json:"antientropy_keys_repaired"`
	AEBytesSent      int64            `json:"antientropy_bytes_sent"`
	HandoffKeys      int64            `json:"handoff_keys"`
	TombstonesReaped int64            `json:"tombstones_reaped"`
	ReadRepairs      int64            `json:"read_repairs"`
}

// newNodeMetrics takes status's counters from one node's report.
func newNodeMetrics(ns sdk.NodeStatus) *nodeMetrics {
	nm := &nodeMetrics{
		HintsPending: map[string]int64{}, HintsDelivered: map[string]int64{},
		TreesReady: int64(ns.AntiEntropy.TreesReady), Exchanges: ns.AntiEntropy.Exchanges,
		KeysRepaired: ns.AntiEntropy.KeysRepaired, AEBytesSent: ns.AntiEntropy.BytesSent,
		HandoffKeys: ns.HandoffKeys, TombstonesReaped: ns.TombstonesReaped, ReadRepairs: ns.ReadRepairs,
	}
	for target, h := range ns.Hints {
		nm.HintsPending[target] = int64(h.Pending)
		nm.HintsDelivered[target] = int64(h.Delivered)
		nm.HintsRedirected += int64(h.Redirected)
	}
	return nm
}

// statusJSON is `dynkv status -o json`.
type statusJSON struct {
	Partitions   int             `json:"partitions"`
	N            int             `json:"n"`
	Members      []memberStatus  `json:"members"`
	HintsPending []hintsByTarget `json:"hints_pending"`
	Handoffs     []sdk.Handoff   `json:"handoffs"`
}

type memberStatus struct {
	ID       string `json:"id"`
	HTTPAddr string `json:"http_addr"`
	Status   string `json:"status"` // leaving for a member that announced it
	// Leads counts the partitions where the member is first in the
	// preference list, Replicas those it replicates; Share is Leads over
	// the partitions.
	Leads    int     `json:"leads"`
	Replicas int     `json:"replicas"`
	Share    float64 `json:"share"`
	// Reachable: the member answered; Error says why not (empty for a
	// member that has left, which is not asked).
	Reachable bool         `json:"reachable"`
	Error     string       `json:"error,omitempty"`
	Metrics   *nodeMetrics `json:"metrics,omitempty"`
}

type hintsByTarget struct {
	Target  string           `json:"target"`
	Pending int64            `json:"pending"`
	HeldBy  map[string]int64 `json:"held_by"`
}

func runStatus(args []string, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	c := newKVCmd("status", "dynkv status [flags]",
		"Show the cluster on one screen: each member's address and status and its share of\n"+
			"the ring (partitions it leads, first in the preference list, and replicates); the\n"+
			"hints pending for each target; the handoffs in progress; and each member's\n"+
			"anti-entropy progress (Merkle trees ready, exchanges by result, keys repaired).\n"+
			"Every member is asked for its own counters; one that does not answer is shown as\n"+
			"unreachable. -o json prints it all, with more counters per member.",
		"text", "json")
	return c.run(args, stdout, stderr, lookupEnv, [2]int{0, 0}, func(ctx context.Context, cl *sdk.Client, _ []string) error {
		st, err := gatherStatus(ctx, cl)
		if err != nil {
			return err
		}
		if c.output == "json" {
			return writeJSON(stdout, st)
		}
		return printStatus(stdout, st)
	})
}

// gatherStatus asks for the members and the ring (from the first node that
// answers), then every member that has not left for its handoffs and its
// own report (GET /cluster/status), in parallel.
func gatherStatus(ctx context.Context, cl *sdk.Client) (*statusJSON, error) {
	ms, err := cl.Members(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the member list: %w", sdkCause(err))
	}
	ring, err := cl.Ring(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the ring: %w", sdkCause(err))
	}
	slices.SortFunc(ms, func(a, b sdk.Member) int { return strings.Compare(a.ID, b.ID) })
	lead, replica := map[string]int{}, map[string]int{}
	for _, p := range ring.PreferenceLists {
		for i, id := range p.PreferenceList {
			if i == 0 {
				lead[id]++
			}
			replica[id]++
		}
	}
	st := &statusJSON{Partitions: ring.Partitions, N: ring.N, Members: make([]memberStatus, len(ms)), Handoffs: []sdk.Handoff{}}

	var (
		wg       sync.WaitGroup
		handoffs []sdk.NodeHandoffs
		hoErr    error
	)
	wg.Go(func() { handoffs, hoErr = cl.Handoffs(ctx) })
	for i, m := range ms {
		s := &st.Members[i]
		*s = memberStatus{ID: m.ID, HTTPAddr: m.HTTPAddr, Status: m.Status, Leads: lead[m.ID], Replicas: replica[m.ID]}
		if m.Leaving() {
			s.Status = sdk.StatusLeaving
		}
		if ring.Partitions > 0 {
			s.Share = math.Round(10000*float64(s.Leads)/float64(ring.Partitions)) / 10000
		}
		if m.Left() {
			continue
		}
		wg.Go(func() {
			ns, err := cl.NodeStatus(ctx, m)
			if err != nil {
				s.Error = oneLine(sdkCause(err))
				return
			}
			s.Metrics, s.Reachable = newNodeMetrics(ns), true
		})
	}
	wg.Wait()

	if hoErr != nil {
		return nil, fmt.Errorf("read the handoffs: %w", sdkCause(hoErr))
	}
	for _, h := range handoffs {
		i := slices.IndexFunc(st.Members, func(s memberStatus) bool { return s.ID == h.Node })
		if h.Err != nil {
			if i >= 0 && st.Members[i].Error == "" {
				st.Members[i].Error, st.Members[i].Reachable = oneLine(sdkCause(h.Err)), false
			}
			continue
		}
		st.Handoffs = append(st.Handoffs, h.Handoffs...)
	}
	st.HintsPending = hintsPending(st.Members)
	return st, nil
}

// hintsPending turns the hints each member holds, by target, into the
// hints pending for each target, by holder: an operator asks about the
// node that is down, not the ones keeping its writes.
func hintsPending(members []memberStatus) []hintsByTarget {
	hints := map[string]*hintsByTarget{}
	for _, s := range members {
		if s.Metrics == nil {
			continue
		}
		for target, n := range s.Metrics.HintsPending {
			if n == 0 {
				continue
			}
			h := hints[target]
			if h == nil {
				h = &hintsByTarget{Target: target, HeldBy: map[string]int64{}}
				hints[target] = h
			}
			h.Pending += n
			h.HeldBy[s.ID] += n
		}
	}
	out := []hintsByTarget{}
	for _, h := range hints {
		out = append(out, *h)
	}
	slices.SortFunc(out, func(a, b hintsByTarget) int { return strings.Compare(a.Target, b.Target) })
	return out
}

// sdkCause drops the "dynkv <operation>:" an SDK error starts with, for a
// command that names itself.
func sdkCause(err error) error {
	if inner := errors.Unwrap(err); inner != nil && strings.HasPrefix(err.Error(), "dynkv ") {
		return inner
	}
	return err
}

func printStatus(w io.Writer, st *statusJSON) error {
	counts := map[string]int{}
	var unreachable []memberStatus
	for _, m := range st.Members {
		counts[m.Status]++
		if m.Error != "" {
			unreachable = append(unreachable, m)
		}
	}
	var summary []string
	for _, s := range []string{sdk.StatusAlive, sdk.StatusSuspect, sdk.StatusFailed, sdk.StatusLeaving, sdk.StatusLeft} {
		if counts[s] > 0 {
			summary = append(summary, fmt.Sprintf("%d %s", counts[s], s))
		}
	}
	fmt.Fprintf(w, "%d members (%s); %d partitions, N=%d\n\n", len(st.Members), strings.Join(summary, ", "), st.Partitions, st.N)

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tADDRESS\tSTATUS\tLEADS\tSHARE\tREPLICAS\tAPI")
	for _, m := range st.Members {
		api := "ok"
		switch {
		case m.Error != "":
			api = "unreachable"
		case !m.Reachable:
			api = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%.1f%%\t%d\t%s\n", m.ID, orDash(m.HTTPAddr), m.Status, m.Leads, 100*m.Share, m.Replicas, api)
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	if len(st.HintsPending) == 0 {
		fmt.Fprintln(w, "\nHints pending: none")
	} else {
		fmt.Fprintln(w, "\nHints pending:")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "TARGET\tPENDING\tHELD BY")
		for _, h := range st.HintsPending {
			var by []string
			for id, n := range h.HeldBy {
				by = append(by, fmt.Sprintf("%s (%d)", id, n))
			}
			slices.Sort(by)
			fmt.Fprintf(tw, "%s\t%d\t%s\n", h.Target, h.Pending, strings.Join(by, ", "))
		}
		tw.Flush()
	}

	if len(st.Handoffs) == 0 {
		fmt.Fprintln(w, "\nHandoffs: none in progress")
	} else {
		fmt.Fprintln(w, "\nHandoffs in progress:")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "FROM\tPARTITION\tTO\tDONE\tLEFT\tERROR")
		for _, h := range st.Handoffs {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%d\t%s\n", h.From, h.Partition, strings.Join(h.To, ","), h.KeysDone, h.KeysLeft, orDash(h.Error))
		}
		tw.Flush()
	}

	fmt.Fprintln(w, "\nAnti-entropy:")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tTREES READY\tEXCHANGES\tIN SYNC\tREPAIRED\tFAILED\tKEYS REPAIRED")
	for _, m := range st.Members {
		if m.Metrics == nil {
			if m.Status != sdk.StatusLeft {
				fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t-\t-\n", m.ID)
			}
			continue
		}
		x := m.Metrics.Exchanges
		var all int64
		for _, n := range x {
			all += n
		}
		fmt.Fprintf(tw, "%s\t%d/%d\t%d\t%d\t%d\t%d\t%d\n", m.ID, m.Metrics.TreesReady, m.Replicas, all,
			x["in_sync"], x["repaired"], x["failed"], m.Metrics.KeysRepaired)
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	if len(unreachable) > 0 {
		fmt.Fprintln(w, "\nUnreachable:")
		for _, m := range unreachable {
			fmt.Fprintf(w, "  %s: %s\n", m.ID, m.Error)
		}
	}
	return nil
}
