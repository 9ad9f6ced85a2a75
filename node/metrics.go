package node

import (
	"bytes"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/common/expfmt"

	"github.com/dynkv/dynkv/node/internal/wire"
	"github.com/dynkv/dynkv/node/membership"
)

// metrics are per node (several nodes share a process in dev and tests), so
// they live in the node's own registry, never the global one. The parts
// keep their own counters; what they count is read at scrape time.
type metrics struct {
	reg *prometheus.Registry

	requests        *prometheus.CounterVec   // op, code
	requestDuration *prometheus.HistogramVec // op
	siblingsRead    prometheus.Histogram
	internode       *prometheus.CounterVec // op, result
	internodeDur    *prometheus.HistogramVec
	members         *prometheus.GaugeVec // status
}

func newMetrics(n *Node) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "dynkv_requests_total", Help: "Client requests by operation and HTTP status.",
	}, []string{"op", "code"})
	m.requestDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "dynkv_request_duration_seconds", Help: "Client request latency by operation.",
		Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
	}, []string{"op"})
	m.siblingsRead = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "dynkv_read_siblings", Help: "Live siblings returned per successful read.",
		Buckets: []float64{0, 1, 2, 3, 5, 10, 20, 50, 100},
	})
	m.internode = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "dynkv_internode_requests_total", Help: "Internode requests sent, by operation and result.",
	}, []string{"op", "result"})
	m.internodeDur = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "dynkv_internode_duration_seconds", Help: "Internode request latency by operation.",
		Buckets: prometheus.ExponentialBuckets(0.00005, 2, 16),
	}, []string{"op"})
	m.members = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "dynkv_members", Help: "Cluster members by status, as this node sees them.",
	}, []string{"status"})
	m.reg.MustRegister(m.requests, m.requestDuration, m.siblingsRead, m.internode, m.internodeDur, m.members,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		partsCollector{n: n, descs: newPartsDescs()}, newAdmissionCollector(n), newDiskCollector(n), newStoreCollector(n),
		newBucketsCollector(n))
	return m
}

func (m *metrics) observeInternode(op wire.Op, err error, d time.Duration) {
	result := "ok"
	var re *wire.RemoteError
	switch {
	case err == nil:
	case errors.As(err, &re):
		result = "refused"
	default:
		result = "unreachable"
	}
	m.internode.WithLabelValues(string(op), result).Inc()
	m.internodeDur.WithLabelValues(string(op)).Observe(d.Seconds())
}

func (m *metrics) setMembers(members []membership.Member) {
	counts := map[membership.MemberStatus]int{}
	for _, mem := range members {
		counts[mem.Status]++
	}
	for _, st := range []membership.MemberStatus{membership.StatusAlive, membership.StatusSuspect, membership.StatusFailed, membership.StatusLeaving, membership.StatusLeft} {
		m.members.WithLabelValues(string(st)).Set(float64(counts[st]))
	}
}

// exposition renders the registry in the Prometheus text format.
func (m *metrics) exposition() ([]byte, error) {
	families, err := m.reg.Gather()
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, f := range families {
		if err := enc.Encode(f); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}
