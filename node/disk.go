package node

import "github.com/prometheus/client_golang/prometheus"

// The store refuses writes when its file system is below the free-space
// floor (Config.MinFreeDiskBytes); the node shows how close it is in
// /cluster/status, /healthz and /metrics. /healthz stays 200 below the
// floor: the node still serves reads, and a load balancer that dropped it
// would take them away too.

// diskStatus is the store's size and its file system's free space.
func (n *Node) diskStatus() DiskStatus {
	lsm, vlog := n.replica.Size()
	st := n.diskFree()
	st.StoreBytes = lsm + vlog
	return st
}

// diskFree is the free space against the floor, without the store's size
// (which reads the directory): what /healthz shows.
func (n *Node) diskFree() DiskStatus {
	d := n.replica.Disk()
	st := DiskStatus{FreeBytes: d.FreeBytes, FloorBytes: d.FloorBytes, BelowFloor: d.BelowFloor}
	if d.Err != nil {
		st.Error = d.Err.Error()
	}
	return st
}

// healthDisk is the "disk" detail of /healthz.
type healthDisk struct {
	FreeBytes  int64  `json:"free_bytes"`
	FloorBytes int64  `json:"floor_bytes"`
	BelowFloor bool   `json:"below_floor"`
	Error      string `json:"error,omitempty"`
}

func (n *Node) healthDisk() healthDisk {
	d := n.diskFree()
	return healthDisk{FreeBytes: d.FreeBytes, FloorBytes: d.FloorBytes, BelowFloor: d.BelowFloor, Error: d.Error}
}

// diskCollector exports the free space and the floor when scraped.
type diskCollector struct {
	n                  *Node
	free, floor, below *prometheus.Desc
}

func newDiskCollector(n *Node) diskCollector {
	return diskCollector{
		n:     n,
		free:  prometheus.NewDesc("dynkv_disk_free_bytes", "Free space on the file system of the data directory, available to the node.", nil, nil),
		floor: prometheus.NewDesc("dynkv_disk_floor_bytes", "Free-space floor: writes that would go below it are refused with 507.", nil, nil),
		below: prometheus.NewDesc("dynkv_disk_below_floor", "1 while the free space is below the floor and writes are refused.", nil, nil),
	}
}

func (c diskCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.free
	ch <- c.floor
	ch <- c.below
}

func (c diskCollector) Collect(ch chan<- prometheus.Metric) {
	if c.n.replica == nil {
		return // still opening
	}
	d := c.n.diskFree()
	below := 0.0
	if d.BelowFloor {
		below = 1
	}
	ch <- prometheus.MustNewConstMetric(c.free, prometheus.GaugeValue, float64(d.FreeBytes))
	ch <- prometheus.MustNewConstMetric(c.floor, prometheus.GaugeValue, float64(d.FloorBytes))
	ch <- prometheus.MustNewConstMetric(c.below, prometheus.GaugeValue, below)
}
