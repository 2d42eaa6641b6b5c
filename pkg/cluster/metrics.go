package cluster

import (
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/fedplane/fedplane/pkg/kubefedmetrics"
)

// Metrics are the health metrics of member clusters.
type Metrics struct {
	// Ready is 1 for a Ready cluster and 0 otherwise.
	Ready *prometheus.GaugeVec
	// Probes counts probes by outcome (healthy, unhealthy, unreachable, malformed).
	Probes *prometheus.CounterVec
	// ProbeErrors counts probes that were not healthy.
	ProbeErrors *prometheus.CounterVec
	// ProbeDuration is how long probes take.
	ProbeDuration *prometheus.HistogramVec
	// WatchedKinds is 1 for each kind watched in a member's cache.
	WatchedKinds *prometheus.GaugeVec
	// KubeFed records the same probes and connections under KubeFed's names; nil records
	// nothing.
	KubeFed *kubefedmetrics.Metrics
}

// NewMetrics creates the metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		Ready: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "fedplane_cluster_ready", Help: "Whether the member cluster is Ready (1) or not (0).",
		}, []string{"cluster"}),
		Probes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fedplane_cluster_probes_total", Help: "Health probes of member clusters, by outcome.",
		}, []string{"cluster", "outcome"}),
		ProbeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fedplane_cluster_probe_errors_total", Help: "Health probes of member clusters that were not healthy.",
		}, []string{"cluster"}),
		ProbeDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "fedplane_cluster_probe_duration_seconds", Help: "Duration of member health probes.",
			Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10},
		}, []string{"cluster"}),
		WatchedKinds: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "fedplane_member_watched_kinds", Help: "Kinds watched in a member cluster's cache (1 per kind).",
		}, []string{"cluster", "group", "version", "kind"}),
	}
	for _, c := range []prometheus.Collector{m.Ready, m.Probes, m.ProbeErrors, m.ProbeDuration, m.WatchedKinds} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// String names an outcome in metrics and logs.
func (o Outcome) String() string {
	switch o {
	case Healthy:
		return "healthy"
	case Unhealthy:
		return "unhealthy"
	case Unreachable:
		return "unreachable"
	case Duplicate:
		return "duplicate"
	default:
		return "malformed"
	}
}

func (m *Metrics) forget(cluster string) {
	if m == nil {
		return
	}
	m.KubeFed.ForgetCluster(cluster)
	m.Ready.DeleteLabelValues(cluster)
	m.ProbeErrors.DeleteLabelValues(cluster)
	m.ProbeDuration.DeleteLabelValues(cluster)
	for _, o := range []Outcome{Healthy, Unhealthy, Unreachable, Malformed} {
		m.Probes.DeleteLabelValues(cluster, o.String())
	}
}

// watch records that the kind is watched in the member's cache.
func (m *Metrics) watch(cluster string, gvk schema.GroupVersionKind) {
	if m == nil {
		return
	}
	m.WatchedKinds.WithLabelValues(cluster, gvk.Group, gvk.Version, gvk.Kind).Set(1)
}

// unwatch records that the kinds are no longer watched in the member's cache.
func (m *Metrics) unwatch(cluster string, kinds map[schema.GroupVersionKind]bool) {
	if m == nil {
		return
	}
	for gvk := range kinds {
		m.WatchedKinds.DeleteLabelValues(cluster, gvk.Group, gvk.Version, gvk.Kind)
	}
}
