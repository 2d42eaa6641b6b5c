package cluster

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
)

// notReadyWith builds the conditions of a member that answers, but not ok, for reason.
func notReadyWith(at metav1.Time, reason, message string) []corev1beta1.ClusterCondition {
	return []corev1beta1.ClusterCondition{
		cond(corev1beta1.ClusterReady, corev1.ConditionFalse, reason, message, at),
		cond(corev1beta1.ClusterOffline, corev1.ConditionFalse, corev1beta1.ReasonClusterReachable, msgReachable, at),
	}
}

func TestReadinessChange(t *testing.T) {
	unhealthy := notReadyWith(t1, corev1beta1.ReasonClusterNotReady, withDetail(msgNotReady, "the health endpoint answered 503"))
	duplicate := notReadyWith(t1, corev1beta1.ReasonDuplicateCluster, "the same cluster as KubeFedCluster cce")
	malformed := []corev1beta1.ClusterCondition{cond(corev1beta1.ClusterConfigMalformed, corev1.ConditionTrue, corev1beta1.ReasonClusterConfigMalformed, withDetail(msgConfigMalformed, "no token"), t1)}
	readyEvent := readinessEvent{kind: corev1.EventTypeNormal, reason: EventReasonReady, note: msgReady}
	offlineEvent := readinessEvent{kind: corev1.EventTypeWarning, reason: EventReasonOffline, note: "cluster is not reachable: no answer within 1s"}
	cases := []struct {
		name          string
		before, after []corev1beta1.ClusterCondition
		want          *readinessEvent
	}{
		{name: "a new registration that becomes Ready is a Normal event", after: readyAt(t1), want: &readyEvent},
		{name: "a new registration that is Offline at once is a Warning", after: offlineAt(t1, "no answer within 1s"), want: &offlineEvent},
		{name: "a Ready member that goes Offline is a Warning with the probe's message", before: readyAt(t0), after: offlineAt(t1, "no answer within 1s"), want: &offlineEvent},
		{
			name: "a Ready member that answers not ok is a NotReady Warning", before: readyAt(t0), after: unhealthy,
			want: &readinessEvent{kind: corev1.EventTypeWarning, reason: EventReasonNotReady, note: "/healthz responded without ok: the health endpoint answered 503"},
		},
		{
			name: "a Ready registration found a duplicate is NotReady", before: readyAt(t0), after: duplicate,
			want: &readinessEvent{kind: corev1.EventTypeWarning, reason: EventReasonNotReady, note: "the same cluster as KubeFedCluster cce"},
		},
		{
			name: "a Ready registration that turns malformed is NotReady", before: readyAt(t0), after: malformed,
			want: &readinessEvent{kind: corev1.EventTypeWarning, reason: EventReasonNotReady, note: "cluster's configuration may be malformed: no token"},
		},
		{name: "a NotReady member that stops answering goes Offline", before: unhealthy, after: offlineAt(t1, "no answer within 1s"), want: &offlineEvent},
		{name: "an Offline member that answers ok is Ready again", before: offlineAt(t0, "connection refused"), after: readyAt(t1), want: &readyEvent},
		{name: "a member that stays Ready is no event", before: readyAt(t0), after: readyAt(t1)},
		{name: "a Ready message that changes is no event", before: readyAt(t0), after: []corev1beta1.ClusterCondition{cond(corev1beta1.ClusterReady, corev1.ConditionTrue, corev1beta1.ReasonClusterReady, withDetail(msgReady, msgIdentityUnknown), t1)}},
		{name: "a member that stays Offline for another cause is no event", before: offlineAt(t0, "connection refused"), after: offlineAt(t1, "no answer within 1s")},
		{name: "a NotReady member that stays NotReady for another reason is no event", before: unhealthy, after: duplicate},
		{name: "a malformed registration that stays malformed is no event", before: malformed, after: malformed},
		{name: "conditions that are gone are no event", before: readyAt(t0)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := readinessChange(tc.before, tc.after)
			var gotp *readinessEvent
			if ok {
				gotp = &got
			}
			if diff := cmp.Diff(tc.want, gotp, cmp.AllowUnexported(readinessEvent{})); diff != "" {
				t.Errorf("readinessChange() (-want +got):\n%s", diff)
			}
		})
	}
}
