package main

// The status command: one screen of the cluster. Like the other commands it
// talks to the cluster through the SDK: one request, GET /cluster/status,
// whose answering node gathers every member's own report (an API, where
// metric names are not).

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	sdk "github.com/dynkv/dynkv/client"
)

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
	Disk             sdk.DiskStatus   `json:"disk"` // store size, free space and floor
	Ops              sdk.OpsStatus    `json:"ops"`
	// LastExchange is when anti-entropy's last exchange ended.
	LastExchange *time.Time `json:"antientropy_last_exchange,omitempty"`
}

// newNodeMetrics takes status's counters from one node's report.
func newNodeMetrics(ns sdk.NodeStatus) *nodeMetrics {
	nm := &nodeMetrics{
		HintsPending: map[string]int64{}, HintsDelivered: map[string]int64{},
		TreesReady: int64(ns.AntiEntropy.TreesReady), Exchanges: ns.AntiEntropy.Exchanges,
		KeysRepaired: ns.AntiEntropy.KeysRepaired, AEBytesSent: ns.AntiEntropy.BytesSent,
		HandoffKeys: ns.HandoffKeys, TombstonesReaped: ns.TombstonesReaped, ReadRepairs: ns.ReadRepairs,
		Disk: ns.Disk, Ops: ns.Ops, LastExchange: ns.AntiEntropy.LastExchange,
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
	Node         string             `json:"node"` // the node that answered
	Partitions   int                `json:"partitions"`
	N            int                `json:"n"`
	Members      []memberStatus     `json:"members"`
	HintsPending []sdk.HintsPending `json:"hints_pending"`
	Handoffs     []sdk.Handoff      `json:"handoffs"`
	// HandoffTotal sums the handoffs in progress.
	HandoffTotal sdk.HandoffTotal `json:"handoff_total"`
}

type memberStatus struct {
	ID       string `json:"id"`
	HTTPAddr string `json:"http_addr"`
	Status   string `json:"status"` // leaving for a member that announced it
	// Incarnation is when the member's current run started (Unix ms).
	Incarnation int64 `json:"incarnation"`
	// Tags are what it announces in gossip: its zone, its bucket
	// registry's digest.
	Tags map[string]string `json:"tags,omitempty"`
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

func runStatus(args []string, stdin io.Reader, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	c := newKVCmd("status", "dynkv status [flags]",
		"Show the cluster on one screen: each member's address and status and its share of\n"+
			"the ring (partitions it leads, first in the preference list, and replicates); the\n"+
			"hints pending for each target; the handoffs in progress; and each member's\n"+
			"anti-entropy progress (Merkle trees ready, exchanges by result, keys repaired);\n"+
			"and whether every member has the same bucket props.\n"+
			"The first endpoint that answers gathers every member's own counters; a member that\n"+
			"does not answer it is shown as unreachable. -o json prints it all, with more\n"+
			"counters per member (operations, recent rate and p99 latency). Exits 1 with \"no\n"+
			"node reachable\" when no endpoint answers.",
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

// gatherStatus reads the cluster's status from the first node that
// answers (GET /cluster/status), which asks every member for its own
// report: one request, whichever member is down.
func gatherStatus(ctx context.Context, cl *sdk.Client) (*statusJSON, error) {
	cs, err := cl.Status(ctx)
	if errors.Is(err, sdk.ErrUnavailable) {
		return nil, fmt.Errorf("no node reachable: %w", sdkCause(err))
	}
	if err != nil {
		return nil, fmt.Errorf("read the cluster's status: %w", sdkCause(err))
	}
	slices.SortFunc(cs.Members, func(a, b sdk.MemberStatus) int { return strings.Compare(a.ID, b.ID) })
	st := &statusJSON{
		Node: cs.Node, Partitions: cs.Ring.Partitions, N: cs.Ring.N, Members: make([]memberStatus, len(cs.Members)),
		HintsPending: cs.HintsPending, Handoffs: cs.Handoffs, HandoffTotal: cs.HandoffTotal,
	}
	for i, m := range cs.Members {
		st.Members[i] = memberStatus{
			ID: m.ID, HTTPAddr: m.HTTPAddr, Status: m.Status, Incarnation: m.Incarnation, Tags: m.Tags,
			Leads: m.Leads, Replicas: m.Replicas, Share: m.Share, Reachable: m.Reachable, Error: m.Error,
		}
		if m.Report != nil {
			st.Members[i].Metrics = newNodeMetrics(*m.Report)
		}
	}
	return st, nil
}

// sdkCause drops the "client: <operation>:" an SDK error starts with, for a
// command that names itself.
func sdkCause(err error) error {
	if inner := errors.Unwrap(err); inner != nil && strings.HasPrefix(err.Error(), "client: ") {
		return inner
	}
	return err
}

// printStatus is status's text form: a summary line and the members, then
// the hints pending, the handoffs, anti-entropy, disk space, whether the
// members agree on the bucket props, and why members did not answer.
func printStatus(w io.Writer, st *statusJSON) error {
	if err := printMembers(w, st); err != nil {
		return err
	}
	printHints(w, st.HintsPending)
	printHandoffs(w, st)
	if err := printAntiEntropy(w, st.Members); err != nil {
		return err
	}
	if err := printDisk(w, st.Members); err != nil {
		return err
	}
	printBucketAgreement(w, st.Members)
	printUnreachable(w, st.Members)
	return nil
}

// printMembers prints the count of members by status and the ring's shape,
// then one row per member.
func printMembers(w io.Writer, st *statusJSON) error {
	counts := map[string]int{}
	for _, m := range st.Members {
		counts[m.Status]++
	}
	var summary []string
	for _, s := range []string{sdk.StatusAlive, sdk.StatusSuspect, sdk.StatusFailed, sdk.StatusLeaving, sdk.StatusLeft} {
		if counts[s] > 0 {
			summary = append(summary, fmt.Sprintf("%d %s", counts[s], s))
		}
	}
	fmt.Fprintf(w, "%d members (%s); %d partitions, N=%d\n\n", len(st.Members), strings.Join(summary, ", "), st.Partitions, st.N)

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tADDRESS\tSTATUS\tLEADS\tSHARE\tREPLICAS\tAPI\tOPS/S\tP99")
	for _, m := range st.Members {
		api, rate, p99 := "ok", "-", "-"
		switch {
		case m.Error != "":
			api = "unreachable"
		case !m.Reachable:
			api = "-"
		}
		if m.Metrics != nil {
			rate = fmt.Sprintf("%.1f", m.Metrics.Ops.PerSecond)
			if m.Metrics.Ops.P99Millis > 0 {
				p99 = fmt.Sprintf("%gms", m.Metrics.Ops.P99Millis)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%.1f%%\t%d\t%s\t%s\t%s\n", m.ID, orDash(m.HTTPAddr), m.Status, m.Leads, 100*m.Share, m.Replicas, api, rate, p99)
	}
	return tw.Flush()
}

// printHints prints the hints pending for each target and who holds them.
func printHints(w io.Writer, hints []sdk.HintsPending) {
	if len(hints) == 0 {
		fmt.Fprintln(w, "\nHints pending: none")
		return
	}
	fmt.Fprintln(w, "\nHints pending:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TARGET\tPENDING\tHELD BY")
	for _, h := range hints {
		var by []string
		for id, n := range h.HeldBy {
			by = append(by, fmt.Sprintf("%s (%d)", id, n))
		}
		slices.Sort(by)
		fmt.Fprintf(tw, "%s\t%d\t%s\n", h.Target, h.Pending, strings.Join(by, ", "))
	}
	tw.Flush()
}

// printHandoffs prints the partition handoffs in progress.
func printHandoffs(w io.Writer, st *statusJSON) {
	handoffs := st.Handoffs
	if len(handoffs) == 0 {
		fmt.Fprintln(w, "\nHandoffs: none in progress")
		return
	}
	t := st.HandoffTotal
	fmt.Fprintf(w, "\nHandoffs in progress: %d partitions, %d of %d keys handed off (%.1f %%)\n",
		t.Partitions, t.KeysDone, t.KeysDone+t.KeysLeft, t.Percent)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FROM\tPARTITION\tTO\tDONE\tLEFT\tERROR")
	for _, h := range handoffs {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%d\t%s\n", h.From, h.Partition, strings.Join(h.To, ","), h.KeysDone, h.KeysLeft, orDash(h.Error))
	}
	tw.Flush()
}

// printAntiEntropy prints each member's Merkle trees ready (of the
// partitions it replicates) and its exchanges by result; a member that did
// not answer gets dashes, one that has left no row.
func printAntiEntropy(w io.Writer, members []memberStatus) error {
	fmt.Fprintln(w, "\nAnti-entropy:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tTREES READY\tEXCHANGES\tIN SYNC\tREPAIRED\tFAILED\tKEYS REPAIRED")
	for _, m := range members {
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
	return tw.Flush()
}

// printUnreachable says why each member that was asked did not answer.
func printUnreachable(w io.Writer, members []memberStatus) {
	header := false
	for _, m := range members {
		if m.Error == "" {
			continue
		}
		if !header {
			fmt.Fprintln(w, "\nUnreachable:")
			header = true
		}
		fmt.Fprintf(w, "  %s: %s\n", m.ID, m.Error)
	}
}
