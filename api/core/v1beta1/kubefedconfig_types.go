package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// KubeFedConfig holds the control plane's settings. There is one, named "kubefed", in the
// control plane's namespace; fed-controller creates it with the defaults when it is missing.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:path=kubefedconfigs
// +kubebuilder:printcolumn:name="Scope",type=string,JSONPath=`.spec.scope`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type KubeFedConfig struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the settings; an absent spec takes every default.
	// +optional
	// +kubebuilder:default={}
	Spec KubeFedConfigSpec `json:"spec"`
}

// ResourceScope is Cluster or Namespaced.
// +kubebuilder:validation:Enum=Cluster;Namespaced
type ResourceScope string

// The scopes of a control plane or a resource.
const (
	ClusterScoped     ResourceScope = "Cluster"
	NamespaceScoped   ResourceScope = "Namespaced"
	DefaultNamespace                = "kube-federation-system"
	DefaultConfigName               = "kubefed"
)

// KubeFedConfigSpec is the control plane's settings. Unset fields take KubeFed's defaults,
// which the API server writes into the object (the settings' parents default to {}, so that
// their fields are defaulted too). FeatureGates is defaulted as a whole: a list the user
// writes is kept as written.
type KubeFedConfigSpec struct {
	// Scope is Cluster when the control plane federates every namespace, or Namespaced when it
	// federates only its own (default Cluster). It cannot be changed. Namespaced, which KubeFed's
	// API allows, is refused: fedplane runs cluster-scoped control planes only.
	// +optional
	// +kubebuilder:default=Cluster
	// +kubebuilder:validation:XValidation:rule="self != 'Namespaced'",message="namespaced control planes are not supported; scope must be Cluster"
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="scope cannot be changed"
	Scope ResourceScope `json:"scope,omitempty"`
	// ControllerDuration tunes how long controllers wait.
	// +optional
	// +kubebuilder:default={}
	ControllerDuration *DurationConfig `json:"controllerDuration,omitempty"`
	// LeaderElect tunes leader election.
	// +optional
	// +kubebuilder:default={}
	LeaderElect *LeaderElectConfig `json:"leaderElect,omitempty"`
	// FeatureGates enables or disables features by name (default PushReconciler,
	// RawResourceStatusCollection and SchedulerPreferences Enabled).
	// +optional
	// +kubebuilder:default={{name:PushReconciler,configuration:Enabled},{name:RawResourceStatusCollection,configuration:Enabled},{name:SchedulerPreferences,configuration:Enabled}}
	// +listType=map
	// +listMapKey=name
	FeatureGates []FeatureGatesConfig `json:"featureGates,omitempty"`
	// ClusterHealthCheck tunes the member health probes.
	// +optional
	// +kubebuilder:default={}
	ClusterHealthCheck *ClusterHealthCheckConfig `json:"clusterHealthCheck,omitempty"`
	// SyncController tunes propagation.
	// +optional
	// +kubebuilder:default={}
	SyncController *SyncControllerConfig `json:"syncController,omitempty"`
	// StatusController tunes status collection.
	// +optional
	// +kubebuilder:default={}
	StatusController *StatusControllerConfig `json:"statusController,omitempty"`
}

// DurationConfig tunes how long controllers wait.
type DurationConfig struct {
	// AvailableDelay is how long to wait before reconciling again after a cluster becomes
	// available (default 20s).
	// +optional
	// +kubebuilder:default="20s"
	AvailableDelay *metav1.Duration `json:"availableDelay,omitempty"`
	// UnavailableDelay is how long to wait before reconciling again after a cluster becomes
	// unavailable (default 60s).
	// +optional
	// +kubebuilder:default="1m0s"
	UnavailableDelay *metav1.Duration `json:"unavailableDelay,omitempty"`
	// CacheSyncTimeout bounds the wait for a member cache to sync (default 5m).
	// +optional
	// +kubebuilder:default="5m0s"
	CacheSyncTimeout *metav1.Duration `json:"cacheSyncTimeout,omitempty"`
}

// LeaderElectConfig tunes leader election.
// +kubebuilder:validation:XValidation:rule="!has(self.leaseDuration) || !has(self.renewDeadline) || duration(self.leaseDuration) > duration(self.renewDeadline)",message="leaseDuration must be greater than renewDeadline",fieldPath=".leaseDuration"
type LeaderElectConfig struct {
	// LeaseDuration is how long a lease is valid (default 15s).
	// +optional
	// +kubebuilder:default="15s"
	LeaseDuration *metav1.Duration `json:"leaseDuration,omitempty"`
	// RenewDeadline is how long the leader tries to renew before giving up (default 10s).
	// +optional
	// +kubebuilder:default="10s"
	RenewDeadline *metav1.Duration `json:"renewDeadline,omitempty"`
	// RetryPeriod is how long candidates wait between tries (default 5s).
	// +optional
	// +kubebuilder:default="5s"
	RetryPeriod *metav1.Duration `json:"retryPeriod,omitempty"`
	// ResourceLock is kept for compatibility (default configmaps); fedplane always uses a
	// Lease.
	// +optional
	// +kubebuilder:default=configmaps
	ResourceLock *ResourceLockType `json:"resourceLock,omitempty"`
}

// ResourceLockType is the kind of object that holds the leader lock.
// +kubebuilder:validation:Enum=configmaps;endpoints;leases;configmapsleases;endpointsleases
type ResourceLockType string

// ConfigurationMode is Enabled or Disabled.
// +kubebuilder:validation:Enum=Enabled;Disabled
type ConfigurationMode string

// The values of a ConfigurationMode.
const (
	ConfigurationEnabled  ConfigurationMode = "Enabled"
	ConfigurationDisabled ConfigurationMode = "Disabled"
)

// FeatureGatesConfig enables or disables one feature.
type FeatureGatesConfig struct {
	// Name is the feature's name.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// Configuration is Enabled or Disabled.
	Configuration ConfigurationMode `json:"configuration"`
}

// ClusterHealthCheckConfig tunes the member health probes. Thresholds count consecutive results.
type ClusterHealthCheckConfig struct {
	// Period is the time between two probes of a cluster (default 10s).
	// +optional
	// +kubebuilder:default="10s"
	Period *metav1.Duration `json:"period,omitempty"`
	// FailureThreshold is how many consecutive failed probes make a Ready cluster not Ready
	// (default 3).
	// +optional
	// +kubebuilder:default=3
	// +kubebuilder:validation:Minimum=1
	FailureThreshold *int64 `json:"failureThreshold,omitempty"`
	// SuccessThreshold is how many consecutive successful probes make a cluster Ready again
	// (default 1).
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=1
	SuccessThreshold *int64 `json:"successThreshold,omitempty"`
	// Timeout bounds one probe (default 3s).
	// +optional
	// +kubebuilder:default="3s"
	Timeout *metav1.Duration `json:"timeout,omitempty"`
}

// SyncControllerConfig tunes propagation.
type SyncControllerConfig struct {
	// MaxConcurrentReconciles is the number of federated objects reconciled at once, per type.
	// It has no default in the object: unset, fed-controller runs 16 (KubeFed's default is 1,
	// which fedplane leaves to those who write it).
	// +optional
	// +kubebuilder:validation:Minimum=1
	MaxConcurrentReconciles *int64 `json:"maxConcurrentReconciles,omitempty"`
	// AdoptResources says whether objects that already exist in a member, without the managed
	// label, are adopted (Enabled, the default) or reported as AlreadyExists (Disabled).
	// +optional
	// +kubebuilder:default=Enabled
	AdoptResources *ResourceAdoption `json:"adoptResources,omitempty"`
}

// ResourceAdoption is Enabled or Disabled.
// +kubebuilder:validation:Enum=Enabled;Disabled
type ResourceAdoption string

// The values of a ResourceAdoption.
const (
	AdoptResourcesEnabled  ResourceAdoption = "Enabled"
	AdoptResourcesDisabled ResourceAdoption = "Disabled"
)

// StatusControllerConfig tunes status collection.
type StatusControllerConfig struct {
	// MaxConcurrentReconciles is the number of objects of one type whose status is collected
	// at once, after only their member copies' status changed. It has no default in the object:
	// unset, fed-controller runs 4 (KubeFed's default is 1, which fedplane leaves to those who
	// write it).
	// +optional
	// +kubebuilder:validation:Minimum=1
	MaxConcurrentReconciles *int64 `json:"maxConcurrentReconciles,omitempty"`
}

// KubeFedConfigList is a list of KubeFedConfig.
//
// +kubebuilder:object:root=true
type KubeFedConfigList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the configs.
	Items []KubeFedConfig `json:"items"`
}
