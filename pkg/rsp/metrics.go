package rsp

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the replica scheduling metrics.
type Metrics struct {
	// PlannedReplicas is the replicas planned per preference and cluster.
	PlannedReplicas *prometheus.GaugeVec
	// FailoverReplicas counts the planned replicas moved away from a cluster because it
	// stopped being Ready.
	FailoverReplicas *prometheus.CounterVec
}

// NewMetrics creates the metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		PlannedReplicas: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "fedplane_rsp_planned_replicas",
			Help: "Replicas that a ReplicaSchedulingPreference plans in a cluster.",
		}, []string{"namespace", "name", "cluster"}),
		FailoverReplicas: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fedplane_rsp_failover_replicas_total",
			Help: "Planned replicas moved away from a cluster because it stopped being Ready.",
		}, []string{"cluster"}),
	}
	for _, c := range []prometheus.Collector{m.PlannedReplicas, m.FailoverReplicas} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// setPlan records a preference's plan, dropping clusters it no longer plans; m may be nil.
func (m *Metrics) setPlan(namespace, name string, plan map[string]int64) {
	if m == nil {
		return
	}
	m.PlannedReplicas.DeletePartialMatch(prometheus.Labels{"namespace": namespace, "name": name})
	for cluster, n := range plan {
		m.PlannedReplicas.WithLabelValues(namespace, name, cluster).Set(float64(n))
	}
}

// forget drops a deleted preference's series; m may be nil.
func (m *Metrics) forget(namespace, name string) {
	if m == nil {
		return
	}
	m.PlannedReplicas.DeletePartialMatch(prometheus.Labels{"namespace": namespace, "name": name})
}

// countFailover counts replicas moved away from clusters no longer Ready; m may be nil.
func (m *Metrics) countFailover(moved map[string]int64) {
	if m == nil {
		return
	}
	for cluster, n := range moved {
		m.FailoverReplicas.WithLabelValues(cluster).Add(float64(n))
	}
}
