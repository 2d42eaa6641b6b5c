package federate

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the propagation metrics.
type Metrics struct {
	// MemberWrites counts the writes sent to member clusters, by cluster, type, action
	// (Create, Update, Delete, Orphan) and result (success, error). In steady state it does
	// not move.
	MemberWrites *prometheus.CounterVec
}

// NewMetrics creates the metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		MemberWrites: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fedplane_member_writes_total",
			Help: "Writes sent to member clusters, by cluster, federated type, action and result.",
		}, []string{"cluster", "type", "action", "result"}),
	}
	if err := reg.Register(m.MemberWrites); err != nil {
		return nil, err
	}
	return m, nil
}

// countWrite counts one write; m may be nil.
func (m *Metrics) countWrite(cluster, typeName string, action Action, err error) {
	if m == nil {
		return
	}
	result := "success"
	if err != nil {
		result = "error"
	}
	m.MemberWrites.WithLabelValues(cluster, typeName, string(action), result).Inc()
}
