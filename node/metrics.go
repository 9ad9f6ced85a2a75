package node

import (
	"bytes"
	"errors"
	"time"

	"github.com/dynkv/dynkv/node/internal/wire"
	"github.com/dynkv/dynkv/node/membership"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/common/expfmt"
)

// metrics are per node (several nodes share a process in dev and tests), so
// they live in the node's own registry, never the global one.
type metrics struct {
	reg *prometheus.Registry

	requests        *prometheus.CounterVec   // op, code
	requestDuration *prometheus.HistogramVec // op
	siblingsRead    prometheus.Histogram
	readRepairs     prometheus.Counter
	internode       *prometheus.CounterVec // op, result
	internodeDur    *prometheus.HistogramVec
	members         *prometheus.GaugeVec // status

	aeExchanges    *prometheus.CounterVec // result
	aeKeysRepaired prometheus.Counter
	aeBytesSent    prometheus.Counter

	hintsRedirected  prometheus.Counter
	tombstonesReaped prometheus.Counter
	handoffKeys      prometheus.Counter
}

func newMetrics(n *Node) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	f := func(c prometheus.Collector) { m.reg.MustRegister(c) }
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
	f(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "dynkv_local_writes_total", Help: "Writes whose dot this node minted.",
	}, func() float64 { return float64(n.replica.LocalWrites()) }))
	m.readRepairs = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "dynkv_read_repairs_total", Help: "Replicas brought up to date after a read.",
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
	m.aeExchanges = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "dynkv_antientropy_exchanges_total", Help: "Partition exchanges with a peer replica, by result (in_sync, repaired, failed).",
	}, []string{"result"})
	m.aeKeysRepaired = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "dynkv_antientropy_keys_repaired_total", Help: "Keys merged here or pushed to a peer by anti-entropy.",
	})
	m.aeBytesSent = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "dynkv_antientropy_bytes_sent_total", Help: "Request bytes sent by anti-entropy (tree descent and repairs).",
	})
	f(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "dynkv_antientropy_trees_ready", Help: "Partitions whose Merkle tree is built.",
	}, func() float64 { return float64(n.replica.TreesReady()) }))
	m.hintsRedirected = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "dynkv_hints_redirected_total", Help: "Hints handed to another replica of their key after their target stayed down past the hint window.",
	})
	f(m.hintsRedirected)
	m.tombstonesReaped = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "dynkv_tombstones_reaped_total", Help: "Deleted keys forgotten by every replica after the grace period.",
	})
	f(m.tombstonesReaped)
	m.handoffKeys = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "dynkv_handoff_keys_total", Help: "Keys handed off to a partition's new replicas.",
	})
	f(m.handoffKeys)
	f(m.aeExchanges)
	f(m.aeKeysRepaired)
	f(m.aeBytesSent)
	f(m.requests)
	f(m.requestDuration)
	f(m.siblingsRead)
	f(m.readRepairs)
	f(m.internode)
	f(m.internodeDur)
	f(m.members)
	f(collectors.NewGoCollector())
	f(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
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
