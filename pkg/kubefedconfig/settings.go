package kubefedconfig

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
)

// The defaults of the settings that the controllers read while they run: KubeFed's, except
// the sync workers, which KubeFed leaves unset.
const (
	DefaultProbePeriod      = 10 * time.Second
	DefaultProbeTimeout     = 3 * time.Second
	DefaultFailureThreshold = 3
	DefaultSuccessThreshold = 1
	// DefaultSyncWorkers is the number of objects of one type reconciled at once when the
	// KubeFedConfig does not set spec.syncController.maxConcurrentReconciles.
	DefaultSyncWorkers = 16
)

// Settings are the KubeFedConfig's settings that the controllers read while they run, each
// with its default filled in where the config leaves it out.
type Settings struct {
	// AdoptResources tells whether a member object that exists before its federated object
	// is adopted (spec.syncController.adoptResources, on unless Disabled).
	AdoptResources bool
	// SyncWorkers is how many objects of one type are reconciled at once.
	SyncWorkers int
	// HealthCheck is how members are probed.
	HealthCheck HealthCheck
	// FeatureGates are the features that spec.featureGates turns on or off.
	FeatureGates FeatureGates
}

// The feature gates that KubeFed knows.
const (
	GateSchedulerPreferences        = "SchedulerPreferences"
	GatePushReconciler              = "PushReconciler"
	GateRawResourceStatusCollection = "RawResourceStatusCollection"
)

// FeatureGates are spec.featureGates with KubeFed's defaults filled in.
type FeatureGates struct {
	// SchedulerPreferences tells whether ReplicaSchedulingPreferences are planned (default
	// on).
	SchedulerPreferences bool
}

func featureGatesOf(gates []corev1beta1.FeatureGatesConfig) FeatureGates {
	fg := FeatureGates{SchedulerPreferences: true}
	for _, g := range gates {
		if g.Name == GateSchedulerPreferences {
			fg.SchedulerPreferences = g.Configuration != corev1beta1.ConfigurationDisabled
		}
	}
	return fg
}

// HealthCheck is how members are probed: spec.clusterHealthCheck with KubeFed's defaults
// filled in.
type HealthCheck struct {
	// Period is the time between two probes of a cluster.
	Period time.Duration
	// Timeout bounds one probe.
	Timeout time.Duration
	// FailureThreshold is how many consecutive failed probes make a Ready cluster not Ready.
	FailureThreshold int64
	// SuccessThreshold is how many consecutive successful probes make a cluster Ready again.
	SuccessThreshold int64
}

// Read reads the KubeFedConfig of namespace and returns its settings; a missing config gives
// the defaults.
func Read(ctx context.Context, c client.Reader, namespace string) (Settings, error) {
	cfg := &corev1beta1.KubeFedConfig{}
	key := types.NamespacedName{Namespace: namespace, Name: corev1beta1.DefaultConfigName}
	switch err := c.Get(ctx, key, cfg); {
	case apierrors.IsNotFound(err):
		return SettingsOf(nil), nil
	case err != nil:
		return Settings{}, fmt.Errorf("failed to read KubeFedConfig %s: %w", key, err)
	}
	return SettingsOf(cfg), nil
}

// SettingsOf gives the settings of cfg; unset or non-positive fields take their defaults,
// and a nil cfg gives the defaults.
func SettingsOf(cfg *corev1beta1.KubeFedConfig) Settings {
	s := Settings{AdoptResources: true, SyncWorkers: DefaultSyncWorkers, HealthCheck: healthCheckOf(nil), FeatureGates: featureGatesOf(nil)}
	if cfg == nil {
		return s
	}
	if sc := cfg.Spec.SyncController; sc != nil {
		if sc.AdoptResources != nil {
			s.AdoptResources = *sc.AdoptResources != corev1beta1.AdoptResourcesDisabled
		}
		if sc.MaxConcurrentReconciles != nil && *sc.MaxConcurrentReconciles > 0 {
			s.SyncWorkers = int(*sc.MaxConcurrentReconciles)
		}
	}
	s.HealthCheck = healthCheckOf(cfg.Spec.ClusterHealthCheck)
	s.FeatureGates = featureGatesOf(cfg.Spec.FeatureGates)
	return s
}

func healthCheckOf(cfg *corev1beta1.ClusterHealthCheckConfig) HealthCheck {
	hc := HealthCheck{
		Period: DefaultProbePeriod, Timeout: DefaultProbeTimeout,
		FailureThreshold: DefaultFailureThreshold, SuccessThreshold: DefaultSuccessThreshold,
	}
	if cfg == nil {
		return hc
	}
	if cfg.Period != nil && cfg.Period.Duration > 0 {
		hc.Period = cfg.Period.Duration
	}
	if cfg.Timeout != nil && cfg.Timeout.Duration > 0 {
		hc.Timeout = cfg.Timeout.Duration
	}
	if cfg.FailureThreshold != nil && *cfg.FailureThreshold > 0 {
		hc.FailureThreshold = *cfg.FailureThreshold
	}
	if cfg.SuccessThreshold != nil && *cfg.SuccessThreshold > 0 {
		hc.SuccessThreshold = *cfg.SuccessThreshold
	}
	return hc
}
