package node

import "github.com/prometheus/client_golang/prometheus"

// bucketsCollector exports the bucket registry's state, read when scraped.
type bucketsCollector struct {
	n                             *Node
	set, pulls, changed, failures *prometheus.Desc
}

func newBucketsCollector(n *Node) bucketsCollector {
	return bucketsCollector{
		n:   n,
		set: prometheus.NewDesc("dynkv_buckets_set", "Buckets whose props were set, in the registry this node applies.", nil, nil),
		pulls: prometheus.NewDesc("dynkv_bucket_registry_pulls_total",
			"Registry exchanges with a member whose announced digest differed from this node's.", nil, nil),
		changed: prometheus.NewDesc("dynkv_bucket_registry_pulls_changed_total",
			"Registry exchanges that changed this node's registry.", nil, nil),
		failures: prometheus.NewDesc("dynkv_bucket_registry_pull_failures_total",
			"Registry exchanges that failed; the next sync pass retries them.", nil, nil),
	}
}

func (c bucketsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.set
	ch <- c.pulls
	ch <- c.changed
	ch <- c.failures
}

func (c bucketsCollector) Collect(ch chan<- prometheus.Metric) {
	m := c.n.buckets
	if m == nil {
		return // still opening
	}
	st := m.Stats()
	ch <- prometheus.MustNewConstMetric(c.set, prometheus.GaugeValue, float64(m.Registry().Len()))
	ch <- prometheus.MustNewConstMetric(c.pulls, prometheus.CounterValue, float64(st.Pulls.Load()))
	ch <- prometheus.MustNewConstMetric(c.changed, prometheus.CounterValue, float64(st.PullsChanged.Load()))
	ch <- prometheus.MustNewConstMetric(c.failures, prometheus.CounterValue, float64(st.PullFailures.Load()))
}
