package kubefedmetrics

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The states of kubefedcluster_total.
const (
	StateReady    = "ready"
	StateNotReady = "notready"
	StateOffline  = "offline"
)

// buckets are KubeFed's buckets of its duration histograms, in seconds.
var buckets = []float64{0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 7.5, 10, 12.5, 15, 17.5, 20, 22.5, 25, 27.5, 30, 50, 75, 100, 1000}

// Metrics are KubeFed's metrics. A nil *Metrics records nothing.
type Metrics struct {
	// ClusterTotal is 1 for the state a member is in (ready, notready or offline) and 0 for
	// the others.
	ClusterTotal *prometheus.GaugeVec
	// Joined is the number of registered members that are probed.
	Joined prometheus.Gauge
	// HealthStatusDuration is how long one health probe of a member takes.
	HealthStatusDuration prometheus.Histogram
	// ClientConnectionDuration is how long connecting a member's client and cache takes.
	ClientConnectionDuration prometheus.Histogram
	// ReconcileDuration is how long one reconcile of a federated object takes.
	ReconcileDuration prometheus.Histogram
	// DispatchDuration is how long a write to a member takes, by action (create, update,
	// delete).
	DispatchDuration *prometheus.HistogramVec

	mu     sync.Mutex
	joined map[string]bool
}

// New creates the metrics and registers them with reg.
func New(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		ClusterTotal: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "kubefedcluster_total", Help: "Member clusters in each state (ready, notready, offline): 1 for the cluster's state, 0 for the others.",
		}, []string{"state", "cluster"}),
		Joined: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "joined_cluster_total", Help: "Registered member clusters that are probed.",
		}),
		HealthStatusDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "cluster_health_status_duration_seconds", Help: "Duration of one health probe of a member cluster.", Buckets: buckets,
		}),
		ClientConnectionDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "cluster_client_connection_duration_seconds", Help: "Duration of connecting a member cluster's client and cache.", Buckets: buckets,
		}),
		ReconcileDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "reconcile_federated_resources_duration_seconds", Help: "Duration of one reconcile of a federated object (see also controller_runtime_reconcile_time_seconds).", Buckets: buckets,
		}),
		DispatchDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "dispatch_operation_duration_seconds", Help: "Duration of a write to a member cluster, by action.", Buckets: buckets,
		}, []string{"action"}),
		joined: map[string]bool{},
	}
	for _, c := range []prometheus.Collector{m.ClusterTotal, m.Joined, m.HealthStatusDuration, m.ClientConnectionDuration, m.ReconcileDuration, m.DispatchDuration} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// ClusterState records the state of a member after a probe, and the probe's duration.
func (m *Metrics) ClusterState(cluster, state string, took time.Duration) {
	if m == nil {
		return
	}
	for _, s := range []string{StateReady, StateNotReady, StateOffline} {
		v := 0.0
		if s == state {
			v = 1
		}
		m.ClusterTotal.WithLabelValues(s, cluster).Set(v)
	}
	m.HealthStatusDuration.Observe(took.Seconds())
	m.mu.Lock()
	defer m.mu.Unlock()
	m.joined[cluster] = true
	m.Joined.Set(float64(len(m.joined)))
}

// ForgetCluster drops a member that is no longer registered.
func (m *Metrics) ForgetCluster(cluster string) {
	if m == nil {
		return
	}
	for _, s := range []string{StateReady, StateNotReady, StateOffline} {
		m.ClusterTotal.DeleteLabelValues(s, cluster)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.joined, cluster)
	m.Joined.Set(float64(len(m.joined)))
}

// Connected records how long connecting a member took.
func (m *Metrics) Connected(took time.Duration) {
	if m == nil {
		return
	}
	m.ClientConnectionDuration.Observe(took.Seconds())
}

// Reconciled records how long a reconcile of a federated object took.
func (m *Metrics) Reconciled(took time.Duration) {
	if m == nil {
		return
	}
	m.ReconcileDuration.Observe(took.Seconds())
}

// Dispatched records how long a write to a member took; action is create, update or delete.
func (m *Metrics) Dispatched(action string, took time.Duration) {
	if m == nil {
		return
	}
	m.DispatchDuration.WithLabelValues(action).Observe(took.Seconds())
}
