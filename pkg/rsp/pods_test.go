package rsp

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var t0 = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

// pod is a fluent builder of test pods.
type pod corev1.Pod

func newPod(phase corev1.PodPhase) pod {
	return pod{Status: corev1.PodStatus{Phase: phase}}
}

func (p pod) cond(t corev1.PodConditionType, s corev1.ConditionStatus, reason string, since time.Duration) pod {
	p.Status.Conditions = append(append([]corev1.PodCondition(nil), p.Status.Conditions...), corev1.PodCondition{
		Type: t, Status: s, Reason: reason, LastTransitionTime: metav1.NewTime(t0.Add(-since)),
	})
	return p
}

func (p pod) deleting() pod {
	now := metav1.NewTime(t0)
	p.DeletionTimestamp = &now
	return p
}

func pods(ps ...pod) []corev1.Pod {
	out := make([]corev1.Pod, 0, len(ps))
	for _, p := range ps {
		out = append(out, corev1.Pod(p))
	}
	return out
}

func TestAnalyzePods(t *testing.T) {
	ready := newPod(corev1.PodRunning).cond(corev1.PodReady, corev1.ConditionTrue, "", time.Minute)
	notReady := newPod(corev1.PodRunning).cond(corev1.PodReady, corev1.ConditionFalse, "", time.Minute)
	stuck := func(since time.Duration) pod {
		return newPod(corev1.PodPending).cond(corev1.PodScheduled, corev1.ConditionFalse, corev1.PodReasonUnschedulable, since)
	}
	cases := []struct {
		name string
		pods []corev1.Pod
		want PodCounts
	}{
		{name: "no pods", want: PodCounts{}},
		{name: "running and ready count", pods: pods(ready, ready, notReady), want: PodCounts{RunningAndReady: 2}},
		{name: "running without a Ready condition does not count", pods: pods(newPod(corev1.PodRunning)), want: PodCounts{}},
		{name: "ready but not running does not count", pods: pods(newPod(corev1.PodSucceeded).cond(corev1.PodReady, corev1.ConditionTrue, "", 0)), want: PodCounts{}},
		{name: "a pod being deleted does not count", pods: pods(ready.deleting(), stuck(2*time.Minute).deleting()), want: PodCounts{}},
		{name: "unschedulable for over the threshold counts", pods: pods(stuck(61*time.Second), stuck(10*time.Minute)), want: PodCounts{Unschedulable: 2}},
		{name: "unschedulable for less asks to look again when it crosses", pods: pods(stuck(20*time.Second), stuck(50*time.Second)), want: PodCounts{Recheck: 11 * time.Second}},
		{name: "exactly at the threshold is not over it", pods: pods(stuck(60 * time.Second)), want: PodCounts{Recheck: time.Second}},
		{name: "pending while scheduled (pulling images) does not count", pods: pods(newPod(corev1.PodPending).cond(corev1.PodScheduled, corev1.ConditionTrue, "", time.Hour)), want: PodCounts{}},
		{name: "pending for another reason does not count", pods: pods(newPod(corev1.PodPending).cond(corev1.PodScheduled, corev1.ConditionFalse, "SchedulingGated", time.Hour)), want: PodCounts{}},
		{name: "pending without conditions does not count", pods: pods(newPod(corev1.PodPending)), want: PodCounts{}},
		{name: "mixed", pods: pods(ready, stuck(2*time.Minute), stuck(30*time.Second), notReady), want: PodCounts{RunningAndReady: 1, Unschedulable: 1, Recheck: 31 * time.Second}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := AnalyzePods(tc.pods, t0, DefaultUnschedulableThreshold)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("AnalyzePods() (-want +got):\n%s", diff)
			}
		})
	}
}
