package kubefedconfig

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
)

func TestSettingsOf(t *testing.T) {
	defaultHealth := HealthCheck{Period: 10 * time.Second, Timeout: 3 * time.Second, FailureThreshold: 3, SuccessThreshold: 1}
	gates := FeatureGates{SchedulerPreferences: true, PushReconciler: true, RawResourceStatusCollection: true}
	election := LeaderElection{LeaseDuration: 15 * time.Second, RenewDeadline: 10 * time.Second, RetryPeriod: 5 * time.Second}
	durations := Durations{AvailableDelay: 20 * time.Second, UnavailableDelay: time.Minute, CacheSyncTimeout: 5 * time.Minute}
	defaults := Settings{AdoptResources: true, SyncWorkers: 16, StatusWorkers: 4, HealthCheck: defaultHealth, FeatureGates: gates, LeaderElection: election, Durations: durations}
	d := func(x time.Duration) *metav1.Duration { return &metav1.Duration{Duration: x} }
	disabled := corev1beta1.AdoptResourcesDisabled
	enabled := corev1beta1.AdoptResourcesEnabled
	spec := func(s corev1beta1.KubeFedConfigSpec) *corev1beta1.KubeFedConfig {
		return &corev1beta1.KubeFedConfig{Spec: s}
	}
	cases := []struct {
		name string
		cfg  *corev1beta1.KubeFedConfig
		want Settings
	}{
		{name: "no config gives the defaults", want: defaults},
		{name: "an empty config gives the defaults", cfg: spec(corev1beta1.KubeFedConfigSpec{}), want: defaults},
		{name: "the config installed by default gives the defaults", cfg: Default("kube-federation-system"), want: defaults},
		{
			name: "non-positive values give the defaults",
			cfg: spec(corev1beta1.KubeFedConfigSpec{
				ClusterHealthCheck: &corev1beta1.ClusterHealthCheckConfig{Period: &metav1.Duration{}, FailureThreshold: ptr.To[int64](0)},
				SyncController:     &corev1beta1.SyncControllerConfig{MaxConcurrentReconciles: ptr.To[int64](0)},
				StatusController:   &corev1beta1.StatusControllerConfig{MaxConcurrentReconciles: ptr.To[int64](0)},
			}),
			want: defaults,
		},
		{
			name: "set values win",
			cfg: spec(corev1beta1.KubeFedConfigSpec{
				ClusterHealthCheck: &corev1beta1.ClusterHealthCheckConfig{Period: &metav1.Duration{Duration: time.Second}, Timeout: &metav1.Duration{Duration: 500 * time.Millisecond}, FailureThreshold: ptr.To[int64](5), SuccessThreshold: ptr.To[int64](2)},
				SyncController:     &corev1beta1.SyncControllerConfig{MaxConcurrentReconciles: ptr.To[int64](4), AdoptResources: &disabled},
				StatusController:   &corev1beta1.StatusControllerConfig{MaxConcurrentReconciles: ptr.To[int64](2)},
			}),
			want: Settings{SyncWorkers: 4, StatusWorkers: 2, FeatureGates: gates, LeaderElection: election, Durations: durations, HealthCheck: HealthCheck{Period: time.Second, Timeout: 500 * time.Millisecond, FailureThreshold: 5, SuccessThreshold: 2}},
		},
		{
			name: "adoptResources Enabled adopts",
			cfg:  spec(corev1beta1.KubeFedConfigSpec{SyncController: &corev1beta1.SyncControllerConfig{AdoptResources: &enabled}}),
			want: defaults,
		},
		{
			name: "SchedulerPreferences Disabled stops scheduling; other gates leave it on",
			cfg: spec(corev1beta1.KubeFedConfigSpec{FeatureGates: []corev1beta1.FeatureGatesConfig{
				{Name: "PushReconciler", Configuration: corev1beta1.ConfigurationDisabled},
				{Name: "SchedulerPreferences", Configuration: corev1beta1.ConfigurationDisabled},
			}}),
			want: func() Settings {
				s := defaults
				s.FeatureGates.SchedulerPreferences, s.FeatureGates.PushReconciler = false, false
				return s
			}(),
		},
		{
			name: "RawResourceStatusCollection Disabled",
			cfg:  spec(corev1beta1.KubeFedConfigSpec{FeatureGates: []corev1beta1.FeatureGatesConfig{{Name: "RawResourceStatusCollection", Configuration: corev1beta1.ConfigurationDisabled}}}),
			want: func() Settings { s := defaults; s.FeatureGates.RawResourceStatusCollection = false; return s }(),
		},
		{
			name: "leader election and controller durations are read",
			cfg: spec(corev1beta1.KubeFedConfigSpec{
				LeaderElect:        &corev1beta1.LeaderElectConfig{LeaseDuration: d(40 * time.Second), RenewDeadline: d(30 * time.Second), RetryPeriod: d(3 * time.Second)},
				ControllerDuration: &corev1beta1.DurationConfig{AvailableDelay: d(time.Second), UnavailableDelay: d(2 * time.Second), CacheSyncTimeout: d(time.Minute)},
			}),
			want: func() Settings {
				s := defaults
				s.LeaderElection = LeaderElection{LeaseDuration: 40 * time.Second, RenewDeadline: 30 * time.Second, RetryPeriod: 3 * time.Second}
				s.Durations = Durations{AvailableDelay: time.Second, UnavailableDelay: 2 * time.Second, CacheSyncTimeout: time.Minute}
				return s
			}(),
		},
		{
			name: "readiness delays of zero act at once; a negative one takes the default",
			cfg:  spec(corev1beta1.KubeFedConfigSpec{ControllerDuration: &corev1beta1.DurationConfig{AvailableDelay: d(0), UnavailableDelay: d(-time.Second)}}),
			want: func() Settings { s := defaults; s.Durations.AvailableDelay = 0; return s }(),
		},
		{
			name: "one timing set alone keeps the others' defaults",
			cfg:  spec(corev1beta1.KubeFedConfigSpec{LeaderElect: &corev1beta1.LeaderElectConfig{LeaseDuration: d(60 * time.Second)}}),
			want: func() Settings { s := defaults; s.LeaderElection.LeaseDuration = time.Minute; return s }(),
		},
		{
			name: "timings client-go refuses give the defaults",
			cfg:  spec(corev1beta1.KubeFedConfigSpec{LeaderElect: &corev1beta1.LeaderElectConfig{RenewDeadline: d(20 * time.Second)}}),
			want: defaults,
		},
		{
			name: "a list without SchedulerPreferences leaves it on",
			cfg:  spec(corev1beta1.KubeFedConfigSpec{FeatureGates: []corev1beta1.FeatureGatesConfig{{Name: "PushReconciler", Configuration: corev1beta1.ConfigurationEnabled}}}),
			want: defaults,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, SettingsOf(tc.cfg)); diff != "" {
				t.Errorf("SettingsOf() (-want +got):\n%s", diff)
			}
		})
	}
}
