package cluster

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	"github.com/fedplane/fedplane/pkg/kubefedconfig"
)

// HealthCheck is how members are probed; see kubefedconfig.HealthCheck.
type HealthCheck = kubefedconfig.HealthCheck

// Outcome is what one probe of a member found.
type Outcome int

// The outcomes of a probe.
const (
	// Healthy means /readyz (or /healthz) answered ok.
	Healthy Outcome = iota
	// Unhealthy means the cluster answered, but not ok.
	Unhealthy
	// Unreachable means the cluster did not answer: connection refused, timeout, TLS failure.
	Unreachable
	// Malformed means no client could be built from the registration.
	Malformed
	// Duplicate means the cluster answered, and an older registration reaches the same
	// cluster: this one is not used.
	Duplicate
)

// Probe is the result of one probe.
type Probe struct {
	// Outcome is what the probe found.
	Outcome Outcome
	// Detail explains a failure, for the condition message; it must hold no credentials.
	Detail string
	// ClusterID is the member's identity (the UID of its kube-system namespace), when a
	// healthy probe could read it.
	ClusterID string
}

// Streak counts a cluster's consecutive probe results of the same kind. The prober keeps one
// per cluster in memory.
type Streak struct {
	// Successes is the number of consecutive Healthy probes.
	Successes int64
	// Failures is the number of consecutive probes that were not Healthy.
	Failures int64
}

// Observe returns the streak after a probe.
func (s Streak) Observe(o Outcome) Streak {
	if o == Healthy {
		return Streak{Successes: s.Successes + 1}
	}
	return Streak{Failures: s.Failures + 1}
}

// The condition messages, as KubeFed writes them.
const (
	msgReady           = "/healthz responded with ok"
	msgNotReady        = "/healthz responded without ok"
	msgNotReachable    = "cluster is not reachable"
	msgReachable       = "cluster is reachable"
	msgConfigMalformed = "cluster's configuration may be malformed"
)

// NextConditions decides a KubeFedCluster's conditions after a probe. streak must already
// count this probe.
//
// A Ready cluster stays Ready until FailureThreshold consecutive probes fail, and a cluster
// that is not Ready becomes Ready after SuccessThreshold consecutive successes; a cluster with
// no conditions yet takes the first probe's result at once, and a malformed registration is
// reported at once. When the decided conditions equal the current ones (type, status, reason
// and message), the current ones are returned unchanged with changed false, so that steady
// health writes nothing. Otherwise every condition carries now as its lastProbeTime, and
// lastTransitionTime changes only for a condition whose status changed.
func NextConditions(current []corev1beta1.ClusterCondition, streak Streak, probe Probe, hc HealthCheck, now metav1.Time) (next []corev1beta1.ClusterCondition, changed bool) {
	ready := isReady(current)
	var want []corev1beta1.ClusterCondition
	switch probe.Outcome {
	case Malformed:
		want = []corev1beta1.ClusterCondition{condition(corev1beta1.ClusterConfigMalformed, corev1.ConditionTrue, corev1beta1.ReasonClusterConfigMalformed, withDetail(msgConfigMalformed, probe.Detail))}
	case Duplicate:
		// Reported at once: using the registration for even one probe period would let two
		// names write one cluster.
		want = []corev1beta1.ClusterCondition{
			condition(corev1beta1.ClusterReady, corev1.ConditionFalse, corev1beta1.ReasonDuplicateCluster, probe.Detail),
			condition(corev1beta1.ClusterOffline, corev1.ConditionFalse, corev1beta1.ReasonClusterReachable, msgReachable),
		}
	case Healthy:
		if !ready && len(current) > 0 && streak.Successes < hc.SuccessThreshold {
			return current, false
		}
		// A Ready cluster keeps its conditions unless the message changes (a caveat that a
		// healthy probe reports, such as an identity that cannot be read).
		want = []corev1beta1.ClusterCondition{condition(corev1beta1.ClusterReady, corev1.ConditionTrue, corev1beta1.ReasonClusterReady, withDetail(msgReady, probe.Detail))}
	default:
		if ready && streak.Failures < hc.FailureThreshold {
			return current, false
		}
		if probe.Outcome == Unreachable {
			want = []corev1beta1.ClusterCondition{condition(corev1beta1.ClusterOffline, corev1.ConditionTrue, corev1beta1.ReasonClusterNotReachable, withDetail(msgNotReachable, probe.Detail))}
		} else {
			want = []corev1beta1.ClusterCondition{
				condition(corev1beta1.ClusterReady, corev1.ConditionFalse, corev1beta1.ReasonClusterNotReady, withDetail(msgNotReady, probe.Detail)),
				condition(corev1beta1.ClusterOffline, corev1.ConditionFalse, corev1beta1.ReasonClusterReachable, msgReachable),
			}
		}
	}
	if sameConditions(current, want) {
		return current, false
	}
	for i := range want {
		want[i].LastProbeTime = now
		transition := now
		for _, c := range current {
			if c.Type == want[i].Type && c.Status == want[i].Status && c.LastTransitionTime != nil {
				transition = *c.LastTransitionTime
			}
		}
		want[i].LastTransitionTime = &transition
	}
	return want, true
}

// IsReady reports whether a KubeFedCluster's status says it is Ready.
func IsReady(s corev1beta1.KubeFedClusterStatus) bool { return isReady(s.Conditions) }

func isReady(conds []corev1beta1.ClusterCondition) bool {
	for _, c := range conds {
		if c.Type == corev1beta1.ClusterReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func condition(t corev1beta1.ClusterConditionType, s corev1.ConditionStatus, reason, message string) corev1beta1.ClusterCondition {
	return corev1beta1.ClusterCondition{Type: t, Status: s, Reason: &reason, Message: &message}
}

func withDetail(msg, detail string) string {
	if detail == "" {
		return msg
	}
	return msg + ": " + detail
}

// sameConditions compares types, statuses, reasons and messages, in any order.
func sameConditions(a, b []corev1beta1.ClusterCondition) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		found := false
		for _, y := range b {
			if x.Type == y.Type && x.Status == y.Status && deref(x.Reason) == deref(y.Reason) && deref(x.Message) == deref(y.Message) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
