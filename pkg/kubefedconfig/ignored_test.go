package kubefedconfig

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
)

func TestIgnored(t *testing.T) {
	changed := func(change func(*corev1beta1.KubeFedConfigSpec)) *corev1beta1.KubeFedConfig {
		cfg := Default("kube-federation-system")
		change(&cfg.Spec)
		return cfg
	}
	lease := corev1beta1.ResourceLockType("leases")
	cases := []struct {
		name string
		cfg  *corev1beta1.KubeFedConfig
		want []string
	}{
		{name: "no config", want: nil},
		{name: "the installed defaults", cfg: Default("kube-federation-system"), want: nil},
		{name: "an empty spec takes the defaults", cfg: &corev1beta1.KubeFedConfig{}, want: nil},
		{
			name: "settings that are read are not listed",
			cfg: changed(func(s *corev1beta1.KubeFedConfigSpec) {
				s.ClusterHealthCheck.Period = &metav1.Duration{Duration: time.Second}
				s.SyncController.MaxConcurrentReconciles = ptr.To[int64](2)
				s.FeatureGates[2].Configuration = corev1beta1.ConfigurationDisabled
				s.LeaderElect.LeaseDuration = &metav1.Duration{Duration: 23 * time.Second}
				s.LeaderElect.RenewDeadline = &metav1.Duration{Duration: 12 * time.Second}
				s.LeaderElect.RetryPeriod = &metav1.Duration{Duration: 7 * time.Second}
				s.LeaderElect.ResourceLock = &lease
				s.ControllerDuration.CacheSyncTimeout = &metav1.Duration{Duration: time.Minute}
				s.ControllerDuration.UnavailableDelay = &metav1.Duration{Duration: time.Second}
				s.ControllerDuration.AvailableDelay = &metav1.Duration{Duration: 0}
				s.StatusController.MaxConcurrentReconciles = ptr.To[int64](3)
			}),
			want: nil,
		},
		{
			name: "feature gates: unknown gates are listed; every known gate is read",
			cfg: changed(func(s *corev1beta1.KubeFedConfigSpec) {
				s.FeatureGates = []corev1beta1.FeatureGatesConfig{
					{Name: "PushReconciler", Configuration: corev1beta1.ConfigurationDisabled},
					{Name: "RawResourceStatusCollection", Configuration: corev1beta1.ConfigurationDisabled},
					{Name: "CrossClusterServiceDiscovery", Configuration: corev1beta1.ConfigurationEnabled},
				}
			}),
			want: []string{
				"spec.featureGates CrossClusterServiceDiscovery: Enabled (no such feature gate)",
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Ignored(tc.cfg)); diff != "" {
				t.Errorf("Ignored() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSubstituted(t *testing.T) {
	lock := func(l corev1beta1.ResourceLockType) *corev1beta1.KubeFedConfig {
		cfg := Default("kube-federation-system")
		cfg.Spec.LeaderElect.ResourceLock = &l
		return cfg
	}
	timings := func(lease, renew, retry time.Duration) *corev1beta1.KubeFedConfig {
		cfg := Default("kube-federation-system")
		d := func(x time.Duration) *metav1.Duration { return &metav1.Duration{Duration: x} }
		cfg.Spec.LeaderElect.LeaseDuration, cfg.Spec.LeaderElect.RenewDeadline, cfg.Spec.LeaderElect.RetryPeriod = d(lease), d(renew), d(retry)
		return cfg
	}
	cases := []struct {
		name string
		cfg  *corev1beta1.KubeFedConfig
		want []string
	}{
		{name: "no config", want: nil},
		{name: "the defaults: configmaps is held as a Lease", cfg: Default("kube-federation-system"), want: nil},
		{name: "leases", cfg: lock("leases"), want: nil},
		{name: "the migration locks hold a Lease", cfg: lock("endpointsleases"), want: nil},
		{
			name: "endpoints is held as a Lease",
			cfg:  lock("endpoints"),
			want: []string{"spec.leaderElect.resourceLock: endpoints (the leader holds a Lease: client-go has no other lock)"},
		},
		{
			name: "a renew deadline too close to the retry period gives the defaults",
			cfg:  timings(20*time.Second, 6*time.Second, 5*time.Second),
			want: []string{"spec.leaderElect: leaseDuration 20s, renewDeadline 6s, retryPeriod 5s (the lease must outlast the renew deadline, " +
				"which must exceed 1.2 retry periods: the defaults 15s, 10s, 5s apply)"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Substituted(tc.cfg)); diff != "" {
				t.Errorf("Substituted() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAtNextStart(t *testing.T) {
	started := SettingsOf(nil)
	cases := []struct {
		name   string
		change func(*Settings)
		want   []string
	}{
		{name: "nothing changed", change: func(*Settings) {}, want: nil},
		{name: "live settings are not listed", change: func(s *Settings) { s.SyncWorkers, s.Durations.AvailableDelay = 3, time.Second }, want: nil},
		{
			name: "leader election timings, in field order",
			change: func(s *Settings) {
				s.LeaderElection.RetryPeriod, s.LeaderElection.LeaseDuration = 2*time.Second, 30*time.Second
			},
			want: []string{"spec.leaderElect.leaseDuration 30s (running with 15s)", "spec.leaderElect.retryPeriod 2s (running with 5s)"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			now := started
			tc.change(&now)
			if diff := cmp.Diff(tc.want, AtNextStart(started, now)); diff != "" {
				t.Errorf("AtNextStart() (-want +got):\n%s", diff)
			}
		})
	}
}
