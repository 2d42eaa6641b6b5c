package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// FederatedTypeConfig enables the federation of one target type: it names the target type and
// the federated type that wraps it. Its name is the target's plural name, followed by "." and
// its group when the group is not the core group (for example "deployments.apps", "configmaps").
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:path=federatedtypeconfigs,shortName=ftc
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Target",type=string,JSONPath=`.spec.targetType.kind`
// +kubebuilder:printcolumn:name="Federated",type=string,JSONPath=`.spec.federatedType.kind`
// +kubebuilder:printcolumn:name="Propagation",type=string,JSONPath=`.spec.propagation`
// +kubebuilder:printcolumn:name="Controller",type=string,JSONPath=`.status.propagationController`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="PropagationControllerRunning")].reason`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="self.metadata.name == (has(self.spec.targetType.group) && size(self.spec.targetType.group) > 0 ? self.spec.targetType.pluralName + '.' + self.spec.targetType.group : self.spec.targetType.pluralName)",message="metadata.name must be the target's pluralName, followed by '.' and its group unless the group is the core group"
type FederatedTypeConfig struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec names the target and federated types.
	Spec FederatedTypeConfigSpec `json:"spec"`
	// Status tells whether the type's controllers run.
	// +optional
	Status FederatedTypeConfigStatus `json:"status,omitempty"`
}

// FederatedTypeConfigSpec names the target and federated types.
type FederatedTypeConfigSpec struct {
	// TargetType is the type created in member clusters.
	TargetType APIResource `json:"targetType"`
	// Propagation is Enabled to propagate objects of the federated type, Disabled to stop.
	Propagation PropagationMode `json:"propagation"`
	// FederatedType is the type, in the host cluster, that carries the template, placement and
	// overrides.
	// +kubebuilder:validation:XValidation:rule="has(self.group) && self.group.contains('.')",message="the federated type's group must contain a dot (types.kubefed.io)"
	FederatedType APIResource `json:"federatedType"`
	// StatusType is the type that holds collected status, when there is one.
	// +optional
	StatusType *APIResource `json:"statusType,omitempty"`
	// StatusCollection is Enabled to collect the member objects' status into the federated
	// object's status.clusters[].remoteStatus.
	// +optional
	StatusCollection *StatusCollectionMode `json:"statusCollection,omitempty"`
}

// APIResource names an API type.
type APIResource struct {
	// Group is the API group; empty for the core group.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Group string `json:"group,omitempty"`
	// Version is the API version.
	// +kubebuilder:validation:MinLength=1
	Version string `json:"version"`
	// Kind is the kind, in CamelCase.
	// +kubebuilder:validation:MinLength=1
	Kind string `json:"kind"`
	// PluralName is the resource name, lower case and plural.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:Pattern=`^[a-z]([-a-z0-9]*[a-z0-9])?$`
	PluralName string `json:"pluralName"`
	// Scope is Cluster or Namespaced.
	Scope ResourceScope `json:"scope"`
}

// PropagationMode is Enabled or Disabled.
// +kubebuilder:validation:Enum=Enabled;Disabled
type PropagationMode string

// The values of a PropagationMode.
const (
	PropagationEnabled  PropagationMode = "Enabled"
	PropagationDisabled PropagationMode = "Disabled"
)

// StatusCollectionMode is Enabled or Disabled.
// +kubebuilder:validation:Enum=Enabled;Disabled
type StatusCollectionMode string

// The values of a StatusCollectionMode.
const (
	StatusCollectionEnabled  StatusCollectionMode = "Enabled"
	StatusCollectionDisabled StatusCollectionMode = "Disabled"
)

// ControllerStatus is Running or NotRunning.
// +kubebuilder:validation:Enum=Running;NotRunning
type ControllerStatus string

// The values of a ControllerStatus.
const (
	ControllerStatusRunning    ControllerStatus = "Running"
	ControllerStatusNotRunning ControllerStatus = "NotRunning"
)

// FederatedTypeConfigStatus tells whether the type's controllers run.
type FederatedTypeConfigStatus struct {
	// ObservedGeneration is the generation of the spec the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// PropagationController is Running when objects of the type are being propagated.
	// +optional
	PropagationController ControllerStatus `json:"propagationController,omitempty"`
	// StatusController is Running when status of the type is being collected.
	// +optional
	StatusController *ControllerStatus `json:"statusController,omitempty"`
	// Conditions tell why the controllers run or not: the condition PropagationControllerRunning
	// is True while the type's sync controller runs with its caches synced, and False with a
	// reason (Starting, Disabled, KindNotServed, CacheSyncFailed, StartFailed) otherwise. While
	// the controller runs, the condition MemberAccess tells whether members deny its requests.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// PropagationControllerRunning is the type of the FederatedTypeConfig condition that tells
// whether the type's sync controller runs.
const PropagationControllerRunning = "PropagationControllerRunning"

// The reasons of the PropagationControllerRunning condition.
const (
	// ReasonControllerRunning: the sync controller runs and its caches have synced.
	ReasonControllerRunning = "Running"
	// ReasonControllerStarting: the sync controller has started and waits for its caches.
	ReasonControllerStarting = "Starting"
	// ReasonPropagationDisabled: spec.propagation is Disabled.
	ReasonPropagationDisabled = "Disabled"
	// ReasonPushReconcilerDisabled: the KubeFedConfig disables the PushReconciler feature
	// gate, so no type propagates; the members' copies are left as they are.
	ReasonPushReconcilerDisabled = "PushReconcilerDisabled"
	// ReasonKindNotServed: the host's API does not serve the federated or the target kind, for
	// example because its CustomResourceDefinition is not installed or was deleted.
	ReasonKindNotServed = "KindNotServed"
	// ReasonCacheSyncFailed: the caches of the type did not sync in time, for example because
	// listing the federated kind fails; the controller is started again after a backoff.
	ReasonCacheSyncFailed = "CacheSyncFailed"
	// ReasonControllerStartFailed: the sync controller could not be set up or stopped with an
	// error; it is started again after a backoff.
	ReasonControllerStartFailed = "StartFailed"
)

// MemberAccess is the type of the FederatedTypeConfig condition that tells whether the member
// clusters grant the control plane's identity the requests that the type's sync controller
// sends them. It is there only while the sync controller runs.
const MemberAccess = "MemberAccess"

// The reasons of the MemberAccess condition.
const (
	// ReasonAccessAllowed: no member denied a request of the type's sync controller, the last
	// time each federated object was synced.
	ReasonAccessAllowed = "AccessAllowed"
	// ReasonAccessDenied: members deny requests of the type's sync controller, because their
	// role (made by fedctl join) does not grant them; the message names the clusters and the
	// verbs.
	ReasonAccessDenied = "AccessDenied"
)

// FederatedTypeConfigList is a list of FederatedTypeConfig.
//
// +kubebuilder:object:root=true
type FederatedTypeConfigList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the type configs.
	Items []FederatedTypeConfig `json:"items"`
}
