package kubefedconfig

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
	// DefaultStatusWorkers is the number of objects of one type whose status is collected at
	// once after their copies' status changed, when spec.statusController.maxConcurrentReconciles
	// leaves it unset.
	DefaultStatusWorkers = 4
	// DefaultLeaseDuration, DefaultRenewDeadline and DefaultRetryPeriod are the leader
	// election's timings (spec.leaderElect).
	DefaultLeaseDuration = 15 * time.Second
	DefaultRenewDeadline = 10 * time.Second
	DefaultRetryPeriod   = 5 * time.Second
	// DefaultAvailableDelay and DefaultUnavailableDelay are how long after a cluster becomes
	// Ready, or not Ready, its federated objects are reconciled again
	// (spec.controllerDuration).
	DefaultAvailableDelay   = 20 * time.Second
	DefaultUnavailableDelay = time.Minute
	// DefaultCacheSyncTimeout is how long a type's sync controller waits for its caches
	// (spec.controllerDuration.cacheSyncTimeout).
	DefaultCacheSyncTimeout = 5 * time.Minute
)

// jitterFactor is client-go's leader election jitter: the renew deadline must exceed the
// retry period times it.
const jitterFactor = 1.2

// Settings are the KubeFedConfig's settings that the controllers read while they run, each
// with its default filled in where the config leaves it out.
type Settings struct {
	// AdoptResources tells whether a member object that exists before its federated object
	// is adopted (spec.syncController.adoptResources, on unless Disabled).
	AdoptResources bool
	// SyncWorkers is how many objects of one type are reconciled at once.
	SyncWorkers int
	// StatusWorkers is how many objects of one type that collects status are reconciled at
	// once after only their copies' status changed (spec.statusController).
	StatusWorkers int
	// HealthCheck is how members are probed.
	HealthCheck HealthCheck
	// FeatureGates are the features that spec.featureGates turns on or off.
	FeatureGates FeatureGates
	// LeaderElection are the leader election's timings, read once at start.
	LeaderElection LeaderElection
	// Durations are spec.controllerDuration.
	Durations Durations
}

// LeaderElection are spec.leaderElect's timings with their defaults filled in. They are
// read when fed-controller starts: a change applies at the next start.
type LeaderElection struct {
	// LeaseDuration is how long a standby waits before it takes a Lease that was not renewed.
	LeaseDuration time.Duration
	// RenewDeadline is how long the leader tries to renew before it gives up leading.
	RenewDeadline time.Duration
	// RetryPeriod is the time between two tries to take or renew the Lease.
	RetryPeriod time.Duration
}

// Durations are spec.controllerDuration with their defaults filled in.
type Durations struct {
	// AvailableDelay is how long after a cluster becomes Ready its federated objects are
	// reconciled again.
	AvailableDelay time.Duration
	// UnavailableDelay is how long after a cluster stops being Ready its federated objects
	// are reconciled again.
	UnavailableDelay time.Duration
	// CacheSyncTimeout bounds the wait of a type's sync controller for its caches.
	CacheSyncTimeout time.Duration
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
	// PushReconciler tells whether federated objects are propagated to the members (default
	// on): off, no sync controller runs.
	PushReconciler bool
	// RawResourceStatusCollection tells whether the member objects' status is copied into
	// the federated objects' status.clusters[].remoteStatus, for the types that collect status
	// (their FederatedTypeConfig's spec.statusCollection). Default on; KubeFed's was off.
	RawResourceStatusCollection bool
}

func featureGatesOf(gates []corev1beta1.FeatureGatesConfig) FeatureGates {
	fg := FeatureGates{SchedulerPreferences: true, PushReconciler: true, RawResourceStatusCollection: true}
	for _, g := range gates {
		switch g.Name {
		case GateSchedulerPreferences:
			fg.SchedulerPreferences = g.Configuration != corev1beta1.ConfigurationDisabled
		case GatePushReconciler:
			fg.PushReconciler = g.Configuration != corev1beta1.ConfigurationDisabled
		case GateRawResourceStatusCollection:
			fg.RawResourceStatusCollection = g.Configuration != corev1beta1.ConfigurationDisabled
		}
	}
	return fg
}

// positive returns d's duration when it is set and positive, and def otherwise.
func positive(d *metav1.Duration, def time.Duration) time.Duration {
	if d != nil && d.Duration > 0 {
		return d.Duration
	}
	return def
}

// nonNegative is d, or def when d is unset or negative: zero is a setting, such as no delay.
func nonNegative(d *metav1.Duration, def time.Duration) time.Duration {
	if d != nil && d.Duration >= 0 {
		return d.Duration
	}
	return def
}

func durationsOf(cfg *corev1beta1.DurationConfig) Durations {
	if cfg == nil {
		cfg = &corev1beta1.DurationConfig{}
	}
	return Durations{
		AvailableDelay:   nonNegative(cfg.AvailableDelay, DefaultAvailableDelay),
		UnavailableDelay: nonNegative(cfg.UnavailableDelay, DefaultUnavailableDelay),
		CacheSyncTimeout: positive(cfg.CacheSyncTimeout, DefaultCacheSyncTimeout),
	}
}

// leaderElectionOf fills in the defaults of cfg. Timings that client-go would refuse (a
// lease not longer than the renew deadline, a renew deadline not above 1.2 retry periods)
// give the defaults, so that a bad config never stops fed-controller from starting.
func leaderElectionOf(cfg *corev1beta1.LeaderElectConfig) LeaderElection {
	def := LeaderElection{LeaseDuration: DefaultLeaseDuration, RenewDeadline: DefaultRenewDeadline, RetryPeriod: DefaultRetryPeriod}
	if cfg == nil {
		return def
	}
	le := LeaderElection{
		LeaseDuration: positive(cfg.LeaseDuration, DefaultLeaseDuration),
		RenewDeadline: positive(cfg.RenewDeadline, DefaultRenewDeadline),
		RetryPeriod:   positive(cfg.RetryPeriod, DefaultRetryPeriod),
	}
	if !le.valid() {
		return def
	}
	return le
}

// valid tells whether client-go accepts the timings.
func (le LeaderElection) valid() bool {
	return le.LeaseDuration > le.RenewDeadline && float64(le.RenewDeadline) > jitterFactor*float64(le.RetryPeriod)
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

// SettingsOf gives the settings of cfg; unset or non-positive fields take their defaults (the
// readiness delays may be zero), and a nil cfg gives the defaults.
func SettingsOf(cfg *corev1beta1.KubeFedConfig) Settings {
	s := Settings{
		AdoptResources: true, SyncWorkers: DefaultSyncWorkers, StatusWorkers: DefaultStatusWorkers, HealthCheck: healthCheckOf(nil), FeatureGates: featureGatesOf(nil),
		LeaderElection: leaderElectionOf(nil), Durations: durationsOf(nil),
	}
	if cfg == nil {
		return s
	}
	s.LeaderElection = leaderElectionOf(cfg.Spec.LeaderElect)
	s.Durations = durationsOf(cfg.Spec.ControllerDuration)
	if sc := cfg.Spec.SyncController; sc != nil {
		if sc.AdoptResources != nil {
			s.AdoptResources = *sc.AdoptResources != corev1beta1.AdoptResourcesDisabled
		}
		if sc.MaxConcurrentReconciles != nil && *sc.MaxConcurrentReconciles > 0 {
			s.SyncWorkers = int(*sc.MaxConcurrentReconciles)
		}
	}
	if sc := cfg.Spec.StatusController; sc != nil && sc.MaxConcurrentReconciles != nil && *sc.MaxConcurrentReconciles > 0 {
		s.StatusWorkers = int(*sc.MaxConcurrentReconciles)
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
