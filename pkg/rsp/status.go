package rsp

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	schedulingv1alpha1 "github.com/fedplane/fedplane/api/scheduling/v1alpha1"
)

// ConditionPlanned tells whether the plan is applied to the target, and why not.
const ConditionPlanned = "Planned"

// Reasons of the Planned condition.
const (
	// ReasonApplied: the target's placement and replicas overrides are the plan.
	ReasonApplied = "Applied"
	// ReasonTargetNotFound: there is no target of targetKind with the preference's name.
	ReasonTargetNotFound = "TargetNotFound"
	// ReasonTargetDeleting: the target is being deleted; it is left alone.
	ReasonTargetDeleting = "TargetDeleting"
	// ReasonNoReadyClusters: no cluster is a candidate (none is Ready or, with
	// intersectWithClusterSelector, none matches); the target is left as it is.
	ReasonNoReadyClusters = "NoReadyClusters"
	// ReasonInvalidPreference: the preference or the target cannot be planned.
	ReasonInvalidPreference = "InvalidPreference"
	// ReasonUpdateFailed: writing the target failed; it is retried.
	ReasonUpdateFailed = "UpdateFailed"
	// ReasonSchedulerPreferencesDisabled: the KubeFedConfig's SchedulerPreferences feature
	// gate is Disabled; the target is left as it is until the gate is Enabled.
	ReasonSchedulerPreferencesDisabled = "SchedulerPreferencesDisabled"
)

// Reasons of the events recorded when the planned replicas change.
const (
	// EventScheduled: the first plan.
	EventScheduled = "Scheduled"
	// EventFailover: replicas moved away from clusters that are no longer Ready.
	EventFailover = "Failover"
	// EventFailback: clusters are Ready again and take replicas back.
	EventFailback = "Failback"
	// EventCapacityExceeded: replicas moved away from clusters whose pods cannot be scheduled.
	EventCapacityExceeded = "CapacityExceeded"
	// EventRescaled: the total changed.
	EventRescaled = "Rescaled"
	// EventRescheduled: any other change, such as a new candidate cluster or new weights.
	EventRescheduled = "Rescheduled"
)

// statusInput is what the status says after one reconcile.
type statusInput struct {
	// Generation is the preference's generation.
	Generation int64
	// Plan, when not nil, is the plan per candidate cluster; nil keeps the clusters and totals.
	Plan map[string]int64
	// Ready is the ready replicas observed per candidate cluster.
	Ready map[string]int64
	// Status, Reason and Message make the Planned condition.
	Status          metav1.ConditionStatus
	Reason, Message string
	// Now stamps a condition that changes.
	Now time.Time
}

// setStatus sets the preference's status: the planned and ready replicas per cluster sorted by
// name, their sums, the ready/planned summary and the Planned condition.
func setStatus(st *schedulingv1alpha1.ReplicaSchedulingPreferenceStatus, in statusInput) {
	st.ObservedGeneration = in.Generation
	if in.Plan != nil {
		st.Clusters = st.Clusters[:0:0]
		st.ScheduledReplicas, st.ReadyReplicas = 0, 0
		var summary []string
		for _, name := range slices.Sorted(maps.Keys(in.Plan)) {
			c := schedulingv1alpha1.ClusterReplicas{Name: name, Replicas: clampInt32(in.Plan[name]), ReadyReplicas: clampInt32(in.Ready[name])}
			st.Clusters = append(st.Clusters, c)
			st.ScheduledReplicas += c.Replicas
			st.ReadyReplicas += c.ReadyReplicas
			summary = append(summary, fmt.Sprintf("%s:%d/%d", name, c.ReadyReplicas, c.Replicas))
		}
		st.Summary = strings.Join(summary, " ")
	}
	meta.SetStatusCondition(&st.Conditions, metav1.Condition{
		Type: ConditionPlanned, Status: in.Status, Reason: in.Reason, Message: in.Message,
		ObservedGeneration: in.Generation, LastTransitionTime: metav1.NewTime(in.Now),
	})
}

// clampInt32 converts a count for the status, whose fields are int32.
func clampInt32(n int64) int32 {
	return int32(max(min(n, math.MaxInt32), math.MinInt32))
}

// previousPlan returns the plan that the status records.
func previousPlan(st schedulingv1alpha1.ReplicaSchedulingPreferenceStatus) map[string]int64 {
	prev := make(map[string]int64, len(st.Clusters))
	for _, c := range st.Clusters {
		prev[c.Name] = int64(c.Replicas)
	}
	return prev
}

// moveInput is what describeMove compares.
type moveInput struct {
	// Prev and Next are the previous and the new plan per cluster.
	Prev, Next map[string]int64
	// NotReady are the clusters that are registered but not Ready.
	NotReady []string
	// Returned are the candidates that the target's placement kept while they were not Ready.
	Returned []string
	// Capacity is the estimated capacity of the clusters that are out of room.
	Capacity map[string]int64
}

// move is a change of plan, for an event and the metrics.
type move struct {
	// Reason is one of the Event* reasons.
	Reason string
	// Message names the clusters and their replicas before and after, sorted by cluster.
	Message string
	// FailedOver is, per cluster no longer Ready, how many planned replicas moved away.
	FailedOver map[string]int64
}

// describeMove tells why and how the plan changed; ok is false when it did not.
func describeMove(in moveInput) (m move, ok bool) {
	var changes []string
	names := slices.Sorted(maps.Keys(in.Prev))
	for name := range in.Next {
		if _, seen := in.Prev[name]; !seen {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	var prevTotal, nextTotal int64
	for _, name := range names {
		p, n := in.Prev[name], in.Next[name]
		prevTotal += p
		nextTotal += n
		if p != n || len(in.Prev) == 0 {
			changes = append(changes, fmt.Sprintf("%s %d→%d", name, p, n))
		}
	}
	if len(changes) == 0 {
		return move{}, false
	}
	detail := strings.Join(changes, ", ")
	var lost []string
	for _, name := range slices.Sorted(maps.Keys(in.Prev)) {
		if _, still := in.Next[name]; !still && in.Prev[name] > 0 && slices.Contains(in.NotReady, name) {
			lost = append(lost, name)
			if m.FailedOver == nil {
				m.FailedOver = map[string]int64{}
			}
			m.FailedOver[name] = in.Prev[name]
		}
	}
	var full []string
	for _, name := range slices.Sorted(maps.Keys(in.Capacity)) {
		if _, ok := in.Next[name]; ok && in.Next[name] < in.Prev[name] {
			full = append(full, fmt.Sprintf("%s has room for %d", name, max(in.Capacity[name], 0)))
		}
	}
	switch {
	case len(in.Prev) == 0:
		m.Reason, m.Message = EventScheduled, "Planned "+detail
	case len(lost) > 0:
		m.Reason, m.Message = EventFailover, fmt.Sprintf("%s not Ready; moved replicas: %s", listClusters(lost), detail)
	case len(in.Returned) > 0:
		m.Reason, m.Message = EventFailback, fmt.Sprintf("%s Ready again; moved replicas: %s", listClusters(in.Returned), detail)
	case len(full) > 0:
		m.Reason, m.Message = EventCapacityExceeded, fmt.Sprintf("%s; moved replicas: %s", strings.Join(full, ", "), detail)
	case prevTotal != nextTotal:
		m.Reason, m.Message = EventRescaled, fmt.Sprintf("Total %d→%d: %s", prevTotal, nextTotal, detail)
	default:
		m.Reason, m.Message = EventRescheduled, "Moved replicas: "+detail
	}
	return m, true
}

// listClusters names clusters for a message: "cluster cce is" or "clusters a, b are".
func listClusters(names []string) string {
	if len(names) == 1 {
		return "cluster " + names[0] + " is"
	}
	return "clusters " + strings.Join(names, ", ") + " are"
}
