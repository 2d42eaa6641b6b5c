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
	// ChangeWait is how long a change of a federated object (its creation, a new generation
	// or the start of its deletion: change "create", "update" or "delete") waited from the watch event to the start of
	// the reconcile that handles it, by federated type: the time it spent in the queue, behind
	// other work.
	ChangeWait *prometheus.HistogramVec
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
		ChangeWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "fedplane_change_wait_seconds",
			Help:    "Time from the watch event of a federated object's creation (change=create), new generation (change=update) or deletion (change=delete) to the start of the reconcile that handles it, by federated type.",
			Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300},
		}, []string{"type", "change"}),
	}
	for _, c := range []prometheus.Collector{m.MemberWrites, m.ChangeWait} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// changeWaited records how long a change waited for its reconcile; m may be nil.
func (m *Metrics) changeWaited(typeName, kind string, waited time.Duration) {
	if m == nil {
		return
	}
	m.ChangeWait.WithLabelValues(typeName, kind).Observe(waited.Seconds())
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
