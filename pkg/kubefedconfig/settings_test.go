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
	gates := FeatureGates{SchedulerPreferences: true}
	defaults := Settings{AdoptResources: true, SyncWorkers: 16, HealthCheck: defaultHealth, FeatureGates: gates}
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
			}),
			want: defaults,
		},
		{
			name: "set values win",
			cfg: spec(corev1beta1.KubeFedConfigSpec{
				ClusterHealthCheck: &corev1beta1.ClusterHealthCheckConfig{Period: &metav1.Duration{Duration: time.Second}, Timeout: &metav1.Duration{Duration: 500 * time.Millisecond}, FailureThreshold: ptr.To[int64](5), SuccessThreshold: ptr.To[int64](2)},
				SyncController:     &corev1beta1.SyncControllerConfig{MaxConcurrentReconciles: ptr.To[int64](4), AdoptResources: &disabled},
			}),
			want: Settings{SyncWorkers: 4, FeatureGates: gates, HealthCheck: HealthCheck{Period: time.Second, Timeout: 500 * time.Millisecond, FailureThreshold: 5, SuccessThreshold: 2}},
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
			want: func() Settings { s := defaults; s.FeatureGates.SchedulerPreferences = false; return s }(),
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
