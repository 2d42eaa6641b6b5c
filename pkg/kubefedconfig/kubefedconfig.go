package kubefedconfig

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
)

// Default returns the KubeFedConfig that KubeFed installs, in namespace: scope Cluster and
// every setting at its default, written out so that users see them, except that the
// RawResourceStatusCollection gate is Enabled (KubeFed's was Disabled) and the worker counts
// are left to fed-controller. They are the defaults
// of the CRD's schema too, which the API server writes into a KubeFedConfig a user creates.
func Default(namespace string) *corev1beta1.KubeFedConfig {
	d := func(x time.Duration) *metav1.Duration { return &metav1.Duration{Duration: x} }
	adopt := corev1beta1.AdoptResourcesEnabled
	lock := corev1beta1.ResourceLockType("configmaps")
	return &corev1beta1.KubeFedConfig{
		TypeMeta:   metav1.TypeMeta{APIVersion: corev1beta1.GroupVersion.String(), Kind: "KubeFedConfig"},
		ObjectMeta: metav1.ObjectMeta{Name: corev1beta1.DefaultConfigName, Namespace: namespace},
		Spec: corev1beta1.KubeFedConfigSpec{
			Scope: corev1beta1.ClusterScoped,
			ControllerDuration: &corev1beta1.DurationConfig{
				AvailableDelay: d(20 * time.Second), UnavailableDelay: d(60 * time.Second), CacheSyncTimeout: d(5 * time.Minute),
			},
			LeaderElect: &corev1beta1.LeaderElectConfig{
				LeaseDuration: d(15 * time.Second), RenewDeadline: d(10 * time.Second), RetryPeriod: d(5 * time.Second), ResourceLock: &lock,
			},
			ClusterHealthCheck: &corev1beta1.ClusterHealthCheckConfig{
				Period: d(DefaultProbePeriod), Timeout: d(DefaultProbeTimeout),
				FailureThreshold: ptr.To[int64](DefaultFailureThreshold), SuccessThreshold: ptr.To[int64](DefaultSuccessThreshold),
			},
			// The sync workers are left to fed-controller (DefaultSyncWorkers) unless set.
			SyncController: &corev1beta1.SyncControllerConfig{AdoptResources: &adopt},
			FeatureGates: []corev1beta1.FeatureGatesConfig{
				{Name: "PushReconciler", Configuration: corev1beta1.ConfigurationEnabled},
				{Name: "RawResourceStatusCollection", Configuration: corev1beta1.ConfigurationEnabled},
				{Name: "SchedulerPreferences", Configuration: corev1beta1.ConfigurationEnabled},
			},
			// The status workers too are left to fed-controller (DefaultStatusWorkers) unless set.
			StatusController: &corev1beta1.StatusControllerConfig{},
		},
	}
}

// Ensure returns the KubeFedConfig of namespace, creating it with the defaults when it is
// missing. An existing one is never changed.
func Ensure(ctx context.Context, c client.Client, namespace string) (*corev1beta1.KubeFedConfig, error) {
	cfg := &corev1beta1.KubeFedConfig{}
	key := types.NamespacedName{Namespace: namespace, Name: corev1beta1.DefaultConfigName}
	err := c.Get(ctx, key, cfg)
	if err == nil {
		return cfg, nil
	}
	if !apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("failed to read KubeFedConfig %s: %w", key, err)
	}
	cfg = Default(namespace)
	if err := c.Create(ctx, cfg); err != nil {
		if apierrors.IsAlreadyExists(err) {
			return Ensure(ctx, c, namespace)
		}
		return nil, fmt.Errorf("failed to create KubeFedConfig %s: %w", key, err)
	}
	return cfg, nil
}
