package node

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/dynkv/dynkv/hinted"
	"github.com/dynkv/dynkv/node/membership"
)

// partsCollector exports what the replica, the coordinator, the repair
// work and the hint queue count, read when scraped.
type partsCollector struct {
	n     *Node
	descs partsDescs
}

type partsDescs struct {
	localWrites, readRepairs, treesReady          *prometheus.Desc
	exchanges, keysRepaired, aeBytes              *prometheus.Desc
	keyFailures, quarantined                      *prometheus.Desc
	reaped, handoffKeys                           *prometheus.Desc
	hintsPending, hintsDelivered, hintsRedirected *prometheus.Desc
}

func newPartsDescs() partsDescs {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return partsDescs{
		localWrites:     d("dynkv_local_writes_total", "Writes whose dot this node minted."),
		readRepairs:     d("dynkv_read_repairs_total", "Replicas brought up to date after a read."),
		treesReady:      d("dynkv_antientropy_trees_ready", "Partitions whose Merkle trees (one per bucket N) are all built."),
		exchanges:       d("dynkv_antientropy_exchanges_total", "Partition exchanges with a peer replica, by result (in_sync, repaired, failed).", "result"),
		keysRepaired:    d("dynkv_antientropy_keys_repaired_total", "Keys merged here or pushed to a peer by anti-entropy."),
		aeBytes:         d("dynkv_antientropy_bytes_sent_total", "Request bytes sent by anti-entropy (tree descent and repairs)."),
		keyFailures:     d("dynkv_antientropy_key_failures_total", "Keys an anti-entropy exchange could not repair; it repaired the rest of their partition."),
		quarantined:     d("dynkv_quarantined_records_total", "Stored records that failed to decode, set aside in the quarantine keyspace; their keys are repaired from other replicas."),
		reaped:          d("dynkv_tombstones_reaped_total", "Deleted keys forgotten by every replica after the grace period."),
		handoffKeys:     d("dynkv_handoff_keys_total", "Keys handed off to a partition's new replicas."),
		hintsPending:    d("dynkv_hints_pending", "Hints waiting for their target.", "target"),
		hintsDelivered:  d("dynkv_hints_delivered_total", "Hints delivered and acknowledged.", "target"),
		hintsRedirected: d("dynkv_hints_redirected_total", "Hints handed to another replica of their key after their target stayed down past the hint window.", "target"),
	}
}

func (c partsCollector) Describe(ch chan<- *prometheus.Desc) {
	d := c.descs
	for _, desc := range []*prometheus.Desc{d.localWrites, d.readRepairs, d.treesReady, d.exchanges, d.keysRepaired,
		d.aeBytes, d.keyFailures, d.quarantined, d.reaped, d.handoffKeys, d.hintsPending, d.hintsDelivered, d.hintsRedirected} {
		ch <- desc
	}
}

func (c partsCollector) Collect(ch chan<- prometheus.Metric) {
	n, d := c.n, c.descs
	if n.replica == nil || n.repair == nil {
		return // still opening
	}
	counter := func(desc *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, float64(v), labels...)
	}
	st := n.repair.Stats()
	counter(d.localWrites, n.replica.LocalWrites())
	counter(d.readRepairs, n.coord.ReadRepairs())
	ch <- prometheus.MustNewConstMetric(d.treesReady, prometheus.GaugeValue, float64(n.replica.TreesReady()))
	counter(d.exchanges, st.ExchangesInSync.Load(), "in_sync")
	counter(d.exchanges, st.ExchangesRepaired.Load(), "repaired")
	counter(d.exchanges, st.ExchangesFailed.Load(), "failed")
	counter(d.keysRepaired, st.KeysRepaired.Load())
	counter(d.aeBytes, st.BytesSent.Load())
	counter(d.keyFailures, st.KeyFailures.Load())
	counter(d.quarantined, n.replica.Quarantined())
	counter(d.reaped, st.TombstonesReaped.Load())
	counter(d.handoffKeys, st.HandoffKeys.Load())
	for target, hs := range c.hintStats() {
		ch <- prometheus.MustNewConstMetric(d.hintsPending, prometheus.GaugeValue, float64(hs.Pending), target)
		counter(d.hintsDelivered, int64(hs.Delivered), target)
		counter(d.hintsRedirected, int64(hs.Redirected), target)
	}
}

// hintStats is the hint queue's figures per target, with every other
// member this node knows at zero: a series that exists before the first
// hint lets an alert on dynkv_hints_pending and a rate() of the counters
// start from 0 instead of from nothing.
func (c partsCollector) hintStats() map[string]hinted.TargetStats {
	stats := c.n.replica.Hints().Stats()
	for _, m := range c.n.cluster.View().List {
		if _, ok := stats[m.ID]; !ok && m.ID != c.n.cfg.NodeID && m.Status != membership.StatusLeft {
			stats[m.ID] = hinted.TargetStats{}
		}
	}
	return stats
}
