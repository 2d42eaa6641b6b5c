package cluster

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
)

var (
	t0 = metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	t1 = metav1.NewTime(t0.Add(time.Minute))
)

// cond builds a condition as NextConditions writes it at time at.
func cond(t corev1beta1.ClusterConditionType, s corev1.ConditionStatus, reason, message string, at metav1.Time) corev1beta1.ClusterCondition {
	c := condition(t, s, reason, message)
	c.LastProbeTime = at
	c.LastTransitionTime = &at
	return c
}

func readyAt(at metav1.Time) []corev1beta1.ClusterCondition {
	return []corev1beta1.ClusterCondition{cond(corev1beta1.ClusterReady, corev1.ConditionTrue, corev1beta1.ReasonClusterReady, msgReady, at)}
}

func offlineAt(at metav1.Time, detail string) []corev1beta1.ClusterCondition {
	return []corev1beta1.ClusterCondition{cond(corev1beta1.ClusterOffline, corev1.ConditionTrue, corev1beta1.ReasonClusterNotReachable, withDetail(msgNotReachable, detail), at)}
}

func TestNextConditions(t *testing.T) {
	hc := HealthCheck{Period: time.Second, Timeout: time.Second, FailureThreshold: 3, SuccessThreshold: 2}
	notReadyAt := func(at metav1.Time) []corev1beta1.ClusterCondition {
		return []corev1beta1.ClusterCondition{
			cond(corev1beta1.ClusterReady, corev1.ConditionFalse, corev1beta1.ReasonClusterNotReady, withDetail(msgNotReady, "503"), at),
			cond(corev1beta1.ClusterOffline, corev1.ConditionFalse, corev1beta1.ReasonClusterReachable, msgReachable, at),
		}
	}
	cases := []struct {
		name        string
		current     []corev1beta1.ClusterCondition
		streak      Streak
		probe       Probe
		want        []corev1beta1.ClusterCondition
		wantChanged bool
	}{
		{name: "a new cluster is Ready at its first success", streak: Streak{Successes: 1}, probe: Probe{Outcome: Healthy}, want: readyAt(t1), wantChanged: true},
		{name: "a new cluster is Offline at its first failure", streak: Streak{Failures: 1}, probe: Probe{Outcome: Unreachable, Detail: "connection refused"}, want: offlineAt(t1, "connection refused"), wantChanged: true},
		{name: "steady health writes nothing", current: readyAt(t0), streak: Streak{Successes: 40}, probe: Probe{Outcome: Healthy}, want: readyAt(t0)},
		{name: "one failure does not flip a Ready cluster", current: readyAt(t0), streak: Streak{Failures: 1}, probe: Probe{Outcome: Unreachable, Detail: "timeout"}, want: readyAt(t0)},
		{name: "two failures do not flip it either", current: readyAt(t0), streak: Streak{Failures: 2}, probe: Probe{Outcome: Unreachable, Detail: "timeout"}, want: readyAt(t0)},
		{name: "the threshold-th unreachable probe makes it Offline", current: readyAt(t0), streak: Streak{Failures: 3}, probe: Probe{Outcome: Unreachable, Detail: "timeout"}, want: offlineAt(t1, "timeout"), wantChanged: true},
		{name: "the threshold-th unhealthy probe makes it not Ready but reachable", current: readyAt(t0), streak: Streak{Failures: 3}, probe: Probe{Outcome: Unhealthy, Detail: "503"}, want: notReadyAt(t1), wantChanged: true},
		{name: "one success does not make it Ready with a threshold of two", current: offlineAt(t0, "timeout"), streak: Streak{Successes: 1}, probe: Probe{Outcome: Healthy}, want: offlineAt(t0, "timeout")},
		{name: "the threshold-th success makes it Ready", current: offlineAt(t0, "timeout"), streak: Streak{Successes: 2}, probe: Probe{Outcome: Healthy}, want: readyAt(t1), wantChanged: true},
		{name: "staying unreachable the same way writes nothing", current: offlineAt(t0, "timeout"), streak: Streak{Failures: 9}, probe: Probe{Outcome: Unreachable, Detail: "timeout"}, want: offlineAt(t0, "timeout")},
		{
			name:    "a new reason keeps the transition time of an unchanged status",
			current: offlineAt(t0, "timeout"), streak: Streak{Failures: 9}, probe: Probe{Outcome: Unreachable, Detail: "x509: certificate signed by unknown authority"},
			want: []corev1beta1.ClusterCondition{func() corev1beta1.ClusterCondition {
				c := cond(corev1beta1.ClusterOffline, corev1.ConditionTrue, corev1beta1.ReasonClusterNotReachable, withDetail(msgNotReachable, "x509: certificate signed by unknown authority"), t1)
				c.LastTransitionTime = ptr.To(t0)
				return c
			}()},
			wantChanged: true,
		},
		{
			name:    "a malformed registration is reported at once, even for a Ready cluster",
			current: readyAt(t0), streak: Streak{Failures: 1}, probe: Probe{Outcome: Malformed, Detail: "no token"},
			want:        []corev1beta1.ClusterCondition{cond(corev1beta1.ClusterConfigMalformed, corev1.ConditionTrue, corev1beta1.ReasonClusterConfigMalformed, withDetail(msgConfigMalformed, "no token"), t1)},
			wantChanged: true,
		},
		{
			name:    "a Ready cluster whose identity cannot be read says so in its Ready message",
			current: readyAt(t0), streak: Streak{Successes: 5}, probe: Probe{Outcome: Healthy, Detail: msgIdentityUnknown},
			want: func() []corev1beta1.ClusterCondition {
				// Probed now; still Ready since t0.
				c := cond(corev1beta1.ClusterReady, corev1.ConditionTrue, corev1beta1.ReasonClusterReady, withDetail(msgReady, msgIdentityUnknown), t1)
				c.LastTransitionTime = readyAt(t0)[0].LastTransitionTime
				return []corev1beta1.ClusterCondition{c}
			}(),
			wantChanged: true,
		},
		{
			name:    "a duplicate registration is not Ready at once, even when it was Ready",
			current: readyAt(t0), streak: Streak{Failures: 1}, probe: Probe{Outcome: Duplicate, Detail: "the same cluster as KubeFedCluster cce"},
			want: []corev1beta1.ClusterCondition{
				cond(corev1beta1.ClusterReady, corev1.ConditionFalse, corev1beta1.ReasonDuplicateCluster, "the same cluster as KubeFedCluster cce", t1),
				cond(corev1beta1.ClusterOffline, corev1.ConditionFalse, corev1beta1.ReasonClusterReachable, msgReachable, t1),
			},
			wantChanged: true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, changed := NextConditions(tc.current, tc.streak, tc.probe, hc, t1)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("conditions (-want +got):\n%s", diff)
			}
			if changed != tc.wantChanged {
				t.Errorf("changed = %v, want %v", changed, tc.wantChanged)
			}
		})
	}
}

// A cluster probed every second with failureThreshold 3 rides out short outages, and the
// status is written only when readiness changes.
func TestProbeSequence(t *testing.T) {
	hc := HealthCheck{Period: time.Second, Timeout: time.Second, FailureThreshold: 3, SuccessThreshold: 1}
	outcomes := []Outcome{Healthy, Healthy, Unreachable, Healthy, Unreachable, Unreachable, Unreachable, Unreachable, Healthy, Healthy}
	wantReady := []bool{true, true, true, true, true, true, false, false, true, true}
	var conds []corev1beta1.ClusterCondition
	var streak Streak
	writes := 0
	for i, o := range outcomes {
		streak = streak.Observe(o)
		next, changed := NextConditions(conds, streak, Probe{Outcome: o, Detail: "timeout"}, hc, metav1.NewTime(t0.Add(time.Duration(i)*time.Second)))
		if changed {
			writes++
		}
		conds = next
		if got := isReady(conds); got != wantReady[i] {
			t.Errorf("after probe %d (%v): ready = %v, want %v", i, o, got, wantReady[i])
		}
	}
	if writes != 3 {
		t.Errorf("status written %d times, want 3 (Ready, Offline, Ready)", writes)
	}
}

func TestStreakCountsConsecutiveResults(t *testing.T) {
	s := Streak{}.Observe(Healthy).Observe(Healthy)
	if s != (Streak{Successes: 2}) {
		t.Errorf("got %+v after two successes", s)
	}
	s = s.Observe(Unreachable)
	if s != (Streak{Failures: 1}) {
		t.Errorf("got %+v after a failure, want the successes reset", s)
	}
	s = s.Observe(Malformed).Observe(Healthy)
	if s != (Streak{Successes: 1}) {
		t.Errorf("got %+v after a success, want the failures reset", s)
	}
}

func TestClaimGivesAClusterToItsOldestRegistration(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r := &HealthReconciler{}
	steps := []struct {
		name, registration, id string
		created                time.Time
		want                   string
	}{
		{name: "the first registration of a cluster owns it", registration: "cce", id: "uid-1", created: t0, want: "cce"},
		{name: "a newer registration of the same cluster does not", registration: "cce-alias", id: "uid-1", created: t0.Add(time.Minute), want: "cce"},
		{name: "a registration of another cluster owns that one", registration: "local", id: "uid-2", created: t0.Add(time.Hour), want: "local"},
		{name: "the older one still owns it when it probes again", registration: "cce", id: "uid-1", created: t0, want: "cce"},
		{name: "at the same creation time the first name owns it", registration: "bce", id: "uid-1", created: t0, want: "bce"},
	}
	for _, st := range steps {
		if got := r.claim(st.registration, st.id, st.created); got != st.want {
			t.Errorf("%s: claim(%s) = %s, want %s", st.name, st.registration, got, st.want)
		}
	}
	r.release("bce")
	r.release("cce")
	if got := r.claim("cce-alias", "uid-1", t0.Add(time.Minute)); got != "cce-alias" {
		t.Errorf("once the older registrations are removed, claim(cce-alias) = %s, want cce-alias", got)
	}
}
