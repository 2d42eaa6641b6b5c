package cluster

import (
	corev1 "k8s.io/api/core/v1"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
)

// Readiness is the state of a KubeFedCluster that its conditions say, as KubeFed's metrics
// name it.
type Readiness string

// The readiness states of a KubeFedCluster.
const (
	// ReadinessUnknown is a registration that has not been probed yet.
	ReadinessUnknown Readiness = ""
	// ReadinessReady is a member that answers its health probe with ok.
	ReadinessReady Readiness = "Ready"
	// ReadinessNotReady is a member that answers, but not ok, or a registration that cannot be
	// used (malformed, or a duplicate of another).
	ReadinessNotReady Readiness = "NotReady"
	// ReadinessOffline is a member that does not answer.
	ReadinessOffline Readiness = "Offline"
)

// The reasons of the events on a KubeFedCluster whose readiness changes.
const (
	EventReasonReady    = "ClusterReady"
	EventReasonNotReady = "ClusterNotReady"
	EventReasonOffline  = "ClusterOffline"
)

// readinessOf returns the state that conditions say, and the message of the condition that
// says it.
func readinessOf(conds []corev1beta1.ClusterCondition) (Readiness, string) {
	state, message := ReadinessUnknown, ""
	for _, c := range conds {
		switch {
		case c.Type == corev1beta1.ClusterOffline && c.Status == corev1.ConditionTrue:
			// Offline says the most: a member that does not answer is neither Ready nor not.
			return ReadinessOffline, deref(c.Message)
		case c.Type == corev1beta1.ClusterReady && c.Status == corev1.ConditionTrue:
			state, message = ReadinessReady, deref(c.Message)
		case c.Type == corev1beta1.ClusterReady, c.Type == corev1beta1.ClusterConfigMalformed && c.Status == corev1.ConditionTrue:
			state, message = ReadinessNotReady, deref(c.Message)
		}
	}
	return state, message
}

// readinessEvent is the event on a KubeFedCluster whose conditions went from before to after.
type readinessEvent struct {
	// kind is corev1.EventTypeNormal or corev1.EventTypeWarning.
	kind   string
	reason string
	note   string
}

// readinessChange decides the event for a KubeFedCluster whose conditions go from before to
// after: one when its state changes, Normal when it becomes Ready and Warning otherwise, with
// the message of the condition that says the new state; none while the state stays, whatever
// the messages.
func readinessChange(before, after []corev1beta1.ClusterCondition) (readinessEvent, bool) {
	was, _ := readinessOf(before)
	now, message := readinessOf(after)
	if now == was || now == ReadinessUnknown {
		return readinessEvent{}, false
	}
	switch now {
	case ReadinessReady:
		return readinessEvent{kind: corev1.EventTypeNormal, reason: EventReasonReady, note: message}, true
	case ReadinessOffline:
		return readinessEvent{kind: corev1.EventTypeWarning, reason: EventReasonOffline, note: message}, true
	default:
		return readinessEvent{kind: corev1.EventTypeWarning, reason: EventReasonNotReady, note: message}, true
	}
}
