package kubefedconfig

import (
	"fmt"
	"time"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
)

// Ignored lists the settings of cfg that fed-controller does not read, each as "field
// (why)", in a stable order: every setting KubeFed has is read, so these are the feature
// gates that do not exist.
func Ignored(cfg *corev1beta1.KubeFedConfig) []string {
	if cfg == nil {
		return nil
	}
	known := map[string]bool{}
	for _, g := range Default("").Spec.FeatureGates {
		known[g.Name] = true
	}
	var out []string
	for _, g := range cfg.Spec.FeatureGates {
		if !known[g.Name] {
			out = append(out, fmt.Sprintf("spec.featureGates %s: %s (no such feature gate)", g.Name, g.Configuration))
		}
	}
	return out
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
