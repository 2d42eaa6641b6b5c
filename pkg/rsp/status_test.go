package rsp

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	schedulingv1alpha1 "github.com/fedplane/fedplane/api/scheduling/v1alpha1"
)

type counts = map[string]int64

func TestSetStatus(t *testing.T) {
	later := t0.Add(time.Minute)
	applied := func(at time.Time, msg string) metav1.Condition {
		return metav1.Condition{Type: ConditionPlanned, Status: metav1.ConditionTrue, Reason: ReasonApplied, Message: msg, ObservedGeneration: 2, LastTransitionTime: metav1.NewTime(at)}
	}
	planned := schedulingv1alpha1.ReplicaSchedulingPreferenceStatus{
		ObservedGeneration: 2, ScheduledReplicas: 12, ReadyReplicas: 10, Summary: "cce:5/5 local:5/7",
		Clusters:   []schedulingv1alpha1.ClusterReplicas{{Name: "cce", Replicas: 5, ReadyReplicas: 5}, {Name: "local", Replicas: 7, ReadyReplicas: 5}},
		Conditions: []metav1.Condition{applied(t0, "applied")},
	}
	cases := []struct {
		name string
		in   schedulingv1alpha1.ReplicaSchedulingPreferenceStatus
		set  statusInput
		want schedulingv1alpha1.ReplicaSchedulingPreferenceStatus
	}{
		{
			name: "a first plan: clusters sorted by name, sums, summary and condition",
			set:  statusInput{Generation: 2, Plan: counts{"local": 7, "cce": 5}, Ready: counts{"local": 5, "cce": 5, "gone": 3}, Status: metav1.ConditionTrue, Reason: ReasonApplied, Message: "applied", Now: t0},
			want: planned,
		},
		{
			name: "the same again keeps the transition time",
			in:   planned,
			set:  statusInput{Generation: 2, Plan: counts{"local": 7, "cce": 5}, Ready: counts{"local": 5, "cce": 5}, Status: metav1.ConditionTrue, Reason: ReasonApplied, Message: "applied", Now: later},
			want: planned,
		},
		{
			name: "no plan keeps the clusters and totals and says why",
			in:   planned,
			set:  statusInput{Generation: 3, Status: metav1.ConditionFalse, Reason: ReasonTargetNotFound, Message: "FederatedDeployment ns/web not found", Now: later},
			want: func() schedulingv1alpha1.ReplicaSchedulingPreferenceStatus {
				s := *planned.DeepCopy()
				s.ObservedGeneration = 3
				s.Conditions = []metav1.Condition{{Type: ConditionPlanned, Status: metav1.ConditionFalse, Reason: ReasonTargetNotFound, Message: "FederatedDeployment ns/web not found", ObservedGeneration: 3, LastTransitionTime: metav1.NewTime(later)}}
				return s
			}(),
		},
		{
			name: "an empty plan clears the clusters",
			in:   planned,
			set:  statusInput{Generation: 2, Plan: counts{}, Status: metav1.ConditionTrue, Reason: ReasonApplied, Message: "applied", Now: later},
			want: schedulingv1alpha1.ReplicaSchedulingPreferenceStatus{ObservedGeneration: 2, Clusters: []schedulingv1alpha1.ClusterReplicas{}, Conditions: []metav1.Condition{applied(t0, "applied")}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := *tc.in.DeepCopy()
			setStatus(&got, tc.set)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("setStatus() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDescribeMove(t *testing.T) {
	cases := []struct {
		name   string
		in     moveInput
		want   move
		wantOK bool
	}{
		{
			name: "no change",
			in:   moveInput{Prev: counts{"cce": 4, "local": 4}, Next: counts{"local": 4, "cce": 4}},
		},
		{
			name: "a cluster with no replicas joining is no move",
			in:   moveInput{Prev: counts{"local": 8}, Next: counts{"local": 8, "cce": 0}},
		},
		{
			name:   "the first plan",
			in:     moveInput{Next: counts{"local": 4, "cce": 4}},
			want:   move{Reason: EventScheduled, Message: "Planned cce 0→4, local 0→4"},
			wantOK: true,
		},
		{
			name:   "failover from a cluster that is not Ready",
			in:     moveInput{Prev: counts{"cce": 4, "local": 4}, Next: counts{"local": 8}, NotReady: []string{"cce"}},
			want:   move{Reason: EventFailover, Message: "cluster cce is not Ready; moved replicas: cce 4→0, local 4→8", FailedOver: counts{"cce": 4}},
			wantOK: true,
		},
		{
			name:   "failover from two clusters",
			in:     moveInput{Prev: counts{"a": 1, "b": 2, "c": 3}, Next: counts{"c": 6}, NotReady: []string{"b", "a"}},
			want:   move{Reason: EventFailover, Message: "clusters a, b are not Ready; moved replicas: a 1→0, b 2→0, c 3→6", FailedOver: counts{"a": 1, "b": 2}},
			wantOK: true,
		},
		{
			name:   "a cluster dropped while Ready is no failover",
			in:     moveInput{Prev: counts{"cce": 4, "local": 4}, Next: counts{"local": 8}},
			want:   move{Reason: EventRescheduled, Message: "Moved replicas: cce 4→0, local 4→8"},
			wantOK: true,
		},
		{
			name:   "failback",
			in:     moveInput{Prev: counts{"local": 8}, Next: counts{"local": 4, "cce": 4}, Returned: []string{"cce"}},
			want:   move{Reason: EventFailback, Message: "cluster cce is Ready again; moved replicas: cce 0→4, local 8→4"},
			wantOK: true,
		},
		{
			name:   "capacity",
			in:     moveInput{Prev: counts{"local": 6, "cce": 6}, Next: counts{"local": 7, "cce": 5}, Capacity: counts{"cce": 5}},
			want:   move{Reason: EventCapacityExceeded, Message: "cce has room for 5; moved replicas: cce 6→5, local 6→7"},
			wantOK: true,
		},
		{
			name:   "rescaled",
			in:     moveInput{Prev: counts{"local": 4, "cce": 4}, Next: counts{"local": 6, "cce": 6}},
			want:   move{Reason: EventRescaled, Message: "Total 8→12: cce 4→6, local 4→6"},
			wantOK: true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := describeMove(tc.in)
			if ok != tc.wantOK {
				t.Errorf("describeMove() ok = %v, want %v", ok, tc.wantOK)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("describeMove() (-want +got):\n%s", diff)
			}
		})
	}
}
