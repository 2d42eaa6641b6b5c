package rsp

import (
	"time"

	corev1 "k8s.io/api/core/v1"
)

// DefaultUnschedulableThreshold is how long a pod must have been unschedulable before its
// cluster counts as out of room.
const DefaultUnschedulableThreshold = 60 * time.Second

// PodCounts summarizes the pods of a workload in one cluster.
type PodCounts struct {
	// RunningAndReady counts the pods that run with condition Ready=True.
	RunningAndReady int64
	// Unschedulable counts the pending pods that the scheduler has found no room for, for
	// longer than the threshold.
	Unschedulable int64
	// Recheck, when not zero, is how long until the next pending unschedulable pod crosses the
	// threshold.
	Recheck time.Duration
}

// AnalyzePods counts the pods that are running and ready, and those that have been
// unschedulable for longer than threshold at now. Pods being deleted count for neither.
func AnalyzePods(pods []corev1.Pod, now time.Time, threshold time.Duration) PodCounts {
	var c PodCounts
	for i := range pods {
		p := &pods[i]
		if p.DeletionTimestamp != nil {
			continue
		}
		switch p.Status.Phase {
		case corev1.PodRunning:
			if r := condition(p, corev1.PodReady); r != nil && r.Status == corev1.ConditionTrue {
				c.RunningAndReady++
			}
		case corev1.PodPending:
			sched := condition(p, corev1.PodScheduled)
			if sched == nil || sched.Status != corev1.ConditionFalse || sched.Reason != corev1.PodReasonUnschedulable {
				continue
			}
			age := now.Sub(sched.LastTransitionTime.Time)
			if age > threshold {
				c.Unschedulable++
				continue
			}
			if wait := threshold - age + time.Second; c.Recheck == 0 || wait < c.Recheck {
				c.Recheck = wait
			}
		}
	}
	return c
}

func condition(p *corev1.Pod, t corev1.PodConditionType) *corev1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == t {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}
