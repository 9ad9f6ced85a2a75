package node

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/dynkv/dynkv/internal/buildinfo"
)

// storeCollector exports which build the node runs and how much its store
// holds, read when scraped: the sizes read the data directory and the key
// estimate badger's table index, which a scrape can afford and a request
// could not.
type storeCollector struct {
	n                            *Node
	build                        prometheus.Metric
	bytes, lsm, vlog, approxKeys *prometheus.Desc
}

func newStoreCollector(n *Node) storeCollector {
	b := buildinfo.Get()
	d := func(name, help string) *prometheus.Desc { return prometheus.NewDesc(name, help, nil, nil) }
	return storeCollector{
		n: n,
		build: prometheus.MustNewConstMetric(prometheus.NewDesc("dynkv_build_info",
			"Always 1; its labels name the running build, as dynkv version and GET /version do.", []string{"version", "commit", "goversion"}, nil),
			prometheus.GaugeValue, 1, b.Version, b.Commit, b.GoVersion),
		bytes:      d("dynkv_store_bytes", "Disk space of the store: LSM tables and value log together."),
		lsm:        d("dynkv_store_lsm_bytes", "Disk space of the store's LSM tables (keys and small values)."),
		vlog:       d("dynkv_store_vlog_bytes", "Disk space of the store's value log (large values), as allocated."),
		approxKeys: d("dynkv_store_keys_approx", "Records in the store's LSM tables: an estimate that counts not yet compacted overwrites and deletes and misses writes still in memory."),
	}
}

func (c storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.build.Desc()
	for _, d := range []*prometheus.Desc{c.bytes, c.lsm, c.vlog, c.approxKeys} {
		ch <- d
	}
}

func (c storeCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- c.build
	if c.n.replica == nil {
		return // still opening
	}
	lsm, vlog := c.n.replica.Size()
	gauge := func(d *prometheus.Desc, v int64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v))
	}
	gauge(c.bytes, lsm+vlog)
	gauge(c.lsm, lsm)
	gauge(c.vlog, vlog)
	gauge(c.approxKeys, c.n.replica.ApproxKeys())
}
