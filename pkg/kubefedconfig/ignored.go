package kubefedconfig

import (
	"fmt"
	"reflect"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
)

// unread is a KubeFedConfig setting that fed-controller does not read, and what it does
// instead.
type unread struct {
	field string
	get   func(corev1beta1.KubeFedConfigSpec) any
	why   string
}

// The settings that fed-controller accepts, for KubeFed's API, and does not read. The leader
// election's timings, the readiness delays and the cache sync timeout are read; a
// resourceLock other than a Lease is reported by Substituted.
var unreadSettings = []unread{
	{"spec.statusController.maxConcurrentReconciles", func(s corev1beta1.KubeFedConfigSpec) any { return statusWorkers(s) }, "the sync controller writes the status, with spec.syncController.maxConcurrentReconciles workers"},
}

// Ignored lists the settings of cfg that fed-controller does not read and that differ from
// the KubeFedConfig it installs (Default), each as "field (why)", in a stable order. Unset
// fields take the defaults and are not listed.
func Ignored(cfg *corev1beta1.KubeFedConfig) []string {
	if cfg == nil {
		return nil
	}
	def := Default("").Spec
	var out []string
	for _, u := range unreadSettings {
		if got := u.get(cfg.Spec); !isNil(got) && !equality.Semantic.DeepEqual(got, u.get(def)) {
			out = append(out, fmt.Sprintf("%s (%s)", u.field, u.why))
		}
	}
	defaults := map[string]corev1beta1.ConfigurationMode{}
	for _, g := range def.FeatureGates {
		defaults[g.Name] = g.Configuration
	}
	for _, g := range cfg.Spec.FeatureGates {
		field := fmt.Sprintf("spec.featureGates %s: %s", g.Name, g.Configuration)
		if _, known := defaults[g.Name]; !known {
			out = append(out, field+" (no such feature gate)")
		}
	}
	return out
}

func statusWorkers(s corev1beta1.KubeFedConfigSpec) *int64 {
	if s.StatusController == nil {
		return nil
	}
	return s.StatusController.MaxConcurrentReconciles
}

// isNil tells whether v, a pointer in an interface, is nil.
func isNil(v any) bool {
	rv := reflect.ValueOf(v)
	return !rv.IsValid() || (rv.Kind() == reflect.Pointer && rv.IsNil())
}

// Substituted lists the leader election settings of cfg that cannot be honoured as written,
// each as "field: value (what applies instead)": a resourceLock other than a Lease (client-go
// has no other lock now; configmaps, KubeFed's default, is not listed) and leader election
// timings that client-go refuses. fed-controller reports them when it starts leading.
func Substituted(cfg *corev1beta1.KubeFedConfig) []string {
	if cfg == nil || cfg.Spec.LeaderElect == nil {
		return nil
	}
	var out []string
	le := cfg.Spec.LeaderElect
	if le.ResourceLock != nil && *le.ResourceLock == "endpoints" {
		out = append(out, fmt.Sprintf("spec.leaderElect.resourceLock: %s (the leader holds a Lease: client-go has no other lock)", *le.ResourceLock))
	}
	set := LeaderElection{
		LeaseDuration: positive(le.LeaseDuration, DefaultLeaseDuration),
		RenewDeadline: positive(le.RenewDeadline, DefaultRenewDeadline),
		RetryPeriod:   positive(le.RetryPeriod, DefaultRetryPeriod),
	}
	if !set.valid() {
		out = append(out, fmt.Sprintf("spec.leaderElect: leaseDuration %s, renewDeadline %s, retryPeriod %s (the lease must outlast the renew deadline, "+
			"which must exceed 1.2 retry periods: the defaults %s, %s, %s apply)", set.LeaseDuration, set.RenewDeadline, set.RetryPeriod,
			DefaultLeaseDuration, DefaultRenewDeadline, DefaultRetryPeriod))
	}
	return out
}

// AtNextStart lists the settings that differ between started, the settings fed-controller
// started with, and now, and that apply only when it starts again, in field order.
func AtNextStart(started, now Settings) []string {
	var out []string
	for _, f := range []struct {
		field     string
		was, next time.Duration
	}{
		{"spec.leaderElect.leaseDuration", started.LeaderElection.LeaseDuration, now.LeaderElection.LeaseDuration},
		{"spec.leaderElect.renewDeadline", started.LeaderElection.RenewDeadline, now.LeaderElection.RenewDeadline},
		{"spec.leaderElect.retryPeriod", started.LeaderElection.RetryPeriod, now.LeaderElection.RetryPeriod},
	} {
		if f.was != f.next {
			out = append(out, fmt.Sprintf("%s %s (running with %s)", f.field, f.next, f.was))
		}
	}
	return out
}
