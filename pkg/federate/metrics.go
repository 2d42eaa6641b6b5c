package federate

import (
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fedplane/fedplane/pkg/kubefedmetrics"
)

// Metrics are the propagation metrics.
type Metrics struct {
	// MemberWrites counts the writes sent to member clusters, by cluster, type, action
	// (Create, Update, Delete, Orphan) and result (success, error). In steady state it does
	// not move.
	MemberWrites *prometheus.CounterVec
	// KubeFed records the reconciles and writes under KubeFed's names; nil records nothing.
	KubeFed *kubefedmetrics.Metrics
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

// reconciled records the duration of a reconcile; m may be nil.
func (m *Metrics) reconciled(took time.Duration) {
	if m == nil {
		return
	}
	m.KubeFed.Reconciled(took)
}

// dispatched records the duration of a write that KubeFed times (create, update, delete);
// m may be nil.
func (m *Metrics) dispatched(action Action, took time.Duration) {
	if m == nil {
		return
	}
	switch action {
	case ActionCreate, ActionUpdate, ActionDelete:
		m.KubeFed.Dispatched(strings.ToLower(string(action)), took)
	}
}
