package v1beta1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// FederatedObject is the shape that every federated type shares. It is not served by itself: its
// generated schema is the frame into which each federated type's template schema is set.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:path=federatedobjects
// +kubebuilder:subresource:status
type FederatedObject struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec says what to propagate, where, and how it differs per cluster.
	// +optional
	Spec FederatedSpec `json:"spec,omitempty"`
	// Status is the propagation status, written by the controller.
	// +optional
	Status FederatedStatus `json:"status,omitempty"`
}

// FederatedSpec is the spec of a federated object.
type FederatedSpec struct {
	// Template is the object to create in each selected member cluster. Its name and namespace
	// are those of the federated object.
	// +optional
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	Template Raw `json:"template,omitzero"`
	// Placement selects the member clusters.
	// +optional
	Placement Placement `json:"placement,omitempty"`
	// Overrides are JSON patches applied to the template for individual clusters.
	// +optional
	// +listType=map
	// +listMapKey=clusterName
	// +kubebuilder:validation:MaxItems=1000
	Overrides []ClusterOverrides `json:"overrides,omitempty"`
}

// Placement selects member clusters. When clusters is set, even to an empty list, it alone
// decides and clusterSelector is ignored. Otherwise clusterSelector decides: an empty selector
// selects every cluster. With neither set, no cluster is selected.
type Placement struct {
	// Clusters names the selected clusters.
	// +optional
	Clusters []ClusterReference `json:"clusters,omitempty"`
	// ClusterSelector selects clusters by their labels. It is ignored when clusters is set. Its
	// requirements are checked at apply as metav1's LabelSelector validation checks them: the
	// operator is In, NotIn, Exists or DoesNotExist, In and NotIn take values, Exists and
	// DoesNotExist take none.
	// +optional
	// +kubebuilder:validation:XValidation:rule="!has(self.matchExpressions) || self.matchExpressions.all(e, e.operator in ['In', 'NotIn', 'Exists', 'DoesNotExist'])",fieldPath=".matchExpressions",message="operator must be In, NotIn, Exists or DoesNotExist"
	// +kubebuilder:validation:XValidation:rule="!has(self.matchExpressions) || self.matchExpressions.all(e, !(e.operator in ['In', 'NotIn']) || (has(e.values) && size(e.values) > 0))",fieldPath=".matchExpressions",message="values must be non-empty when operator is In or NotIn"
	// +kubebuilder:validation:XValidation:rule="!has(self.matchExpressions) || self.matchExpressions.all(e, !(e.operator in ['Exists', 'DoesNotExist']) || !has(e.values) || size(e.values) == 0)",fieldPath=".matchExpressions",message="values must be empty when operator is Exists or DoesNotExist"
	ClusterSelector *metav1.LabelSelector `json:"clusterSelector,omitempty"`
}

// ClusterReference names a member cluster (a KubeFedCluster in the control plane's namespace).
type ClusterReference struct {
	// Name is the name of the KubeFedCluster.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
}

// ClusterOverrides holds the patch for one cluster.
type ClusterOverrides struct {
	// ClusterName is the member cluster the patch is for.
	// +kubebuilder:validation:MinLength=1
	ClusterName string `json:"clusterName"`
	// ClusterOverrides are the operations of the patch, applied in order.
	// +optional
	// +kubebuilder:validation:MaxItems=200
	ClusterOverrides []Override `json:"clusterOverrides,omitempty"`
}

// Override is one JSON patch (RFC 6902) operation.
type Override struct {
	// Op is the operation: add, remove or replace. Empty means replace.
	// +optional
	// +kubebuilder:validation:Enum="";add;remove;replace
	Op string `json:"op,omitempty"`
	// Path is the JSON pointer (RFC 6901) of the field to change, starting with a slash. The
	// name, namespace, generateName and kind of the object cannot be overridden.
	// +kubebuilder:validation:MaxLength=512
	// +kubebuilder:validation:XValidation:rule="self.startsWith('/')",message="must be a JSON pointer that starts with '/', such as /spec/replicas"
	// +kubebuilder:validation:XValidation:rule="!(self in ['/metadata/name', '/metadata/namespace', '/metadata/generateName', '/kind'])",message="the object's name, namespace, generateName and kind cannot be overridden"
	Path string `json:"path"`
	// Value is the new value for add and replace.
	// +optional
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	Value *Raw `json:"value,omitempty"`
}

// FederatedStatus is the propagation status of a federated object.
type FederatedStatus struct {
	// ObservedGeneration is the generation of the spec that the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Conditions holds the Propagation condition.
	// +optional
	Conditions []*Condition `json:"conditions,omitempty"`
	// Clusters has one entry per member cluster that the object is placed in or is being removed
	// from, sorted by name; status is empty where propagation succeeded.
	// +optional
	Clusters []ClusterStatus `json:"clusters,omitempty"`
	// Replicas is, for scalable workloads whose remote status is collected, the replicas that
	// the selected Ready clusters are asked to run (the spec.replicas of the object rendered
	// for each), summed. It is not in KubeFed's status.
	// +optional
	Replicas *int64 `json:"replicas,omitempty"`
	// ReadyReplicas is, for scalable workloads whose remote status is collected, the ready
	// replicas that the member objects of the clusters counted in replicas report, summed. It
	// is not in KubeFed's status.
	// +optional
	ReadyReplicas *int64 `json:"readyReplicas,omitempty"`
	// StaleReplicas is, for scalable workloads whose remote status is collected, the replicas
	// that member objects still hold in clusters that are not Ready (the spec.replicas of each
	// copy as last seen), summed: they are not counted in replicas or readyReplicas, and it is
	// not known whether they run. It is unset when no such cluster holds a copy. It is not in
	// KubeFed's status.
	// +optional
	StaleReplicas *int64 `json:"staleReplicas,omitempty"`
}

// ConditionType is the type of a federated object's condition.
type ConditionType string

// PropagationConditionType is the condition that tells whether the object is propagated.
const PropagationConditionType ConditionType = "Propagation"

// Condition is a condition of a federated object, in KubeFed's shape.
type Condition struct {
	// Type is the condition type; Propagation is the one the controller sets.
	Type ConditionType `json:"type"`
	// Status is True, False or Unknown.
	Status corev1.ConditionStatus `json:"status"`
	// LastUpdateTime is when the condition was last written, in RFC 3339.
	// +optional
	LastUpdateTime string `json:"lastUpdateTime,omitempty"`
	// LastTransitionTime is when the status last changed, in RFC 3339.
	// +optional
	LastTransitionTime string `json:"lastTransitionTime,omitempty"`
	// Reason is a CamelCase reason for the status.
	// +optional
	Reason AggregateReason `json:"reason,omitempty"`
	// Message says in a sentence what the reason means for this object: why the placement
	// failed, which clusters the placement names that are not registered, or which clusters
	// a deleted object waits for. It is not in KubeFed's status.
	// +optional
	Message string `json:"message,omitempty"`
}

// AggregateReason explains the Propagation condition.
type AggregateReason string

// The reasons of the Propagation condition, as KubeFed reports them. An empty reason goes with
// status True.
const (
	// AggregateSuccess means the object is as it should be in every cluster it is placed in.
	AggregateSuccess AggregateReason = ""
	// ClusterRetrievalFailed means the member clusters could not be listed.
	ClusterRetrievalFailed AggregateReason = "ClusterRetrievalFailed"
	// ComputePlacementFailed means the placement could not be computed, for example because
	// of an invalid cluster selector.
	ComputePlacementFailed AggregateReason = "ComputePlacementFailed"
	// CheckClusters means at least one cluster's entry in status.clusters has a status.
	CheckClusters AggregateReason = "CheckClusters"
	// NamespaceNotFederated means the object is namespaced and its namespace has no
	// FederatedNamespace, so it is placed nowhere.
	NamespaceNotFederated AggregateReason = "NamespaceNotFederated"
)

// ClusterStatus is the propagation status of the object in one member cluster.
type ClusterStatus struct {
	// Name is the member cluster.
	Name string `json:"name"`
	// Status is empty when propagation succeeded, otherwise one of the propagation status strings.
	// +optional
	Status PropagationStatus `json:"status,omitempty"`
	// RemoteStatus is the status of the member object, for types that collect it.
	// +optional
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	RemoteStatus *Raw `json:"remoteStatus,omitempty"`
}

// PropagationStatus is the status of the object in one member cluster.
type PropagationStatus string

// The statuses of the object in one member cluster. The strings are KubeFed's, except
// ManagedByAnotherControlPlane and ManagedForAnotherCluster, which fencing adds,
// RevertedByAnotherWriter, and SourceObject, which auto-federation adds.
const (
	// ClusterPropagationOK means the member object is as it should be.
	ClusterPropagationOK PropagationStatus = ""
	// WaitingForRemoval means the member object is being deleted, or orphaned, and is not gone yet.
	WaitingForRemoval PropagationStatus = "WaitingForRemoval"
	// ClusterNotReady means the cluster is not Ready, so it is not written to.
	ClusterNotReady PropagationStatus = "ClusterNotReady"
	// CachedRetrievalFailed means the member object could not be read from the member's cache.
	CachedRetrievalFailed PropagationStatus = "CachedRetrievalFailed"
	// ComputeResourceFailed means the member object could not be built from the template.
	ComputeResourceFailed PropagationStatus = "ComputeResourceFailed"
	// ApplyOverridesFailed means the cluster's overrides do not apply to the template.
	ApplyOverridesFailed PropagationStatus = "ApplyOverridesFailed"
	// CreationFailed means the member object could not be created.
	CreationFailed PropagationStatus = "CreationFailed"
	// UpdateFailed means the member object could not be updated.
	UpdateFailed PropagationStatus = "UpdateFailed"
	// DeletionFailed means the member object could not be deleted.
	DeletionFailed PropagationStatus = "DeletionFailed"
	// LabelRemovalFailed means the managed label could not be removed from an orphaned object.
	LabelRemovalFailed PropagationStatus = "LabelRemovalFailed"
	// RetrievalFailed means the member object could not be read from the member's API server.
	RetrievalFailed PropagationStatus = "RetrievalFailed"
	// AlreadyExists means an object that the control plane does not manage is in the way and
	// adoption is disabled.
	AlreadyExists PropagationStatus = "AlreadyExists"
	// ManagedLabelFalse means the member object is labelled kubefed.io/managed=false and is left
	// alone.
	ManagedLabelFalse PropagationStatus = "ManagedLabelFalse"
	// ClientRetrievalFailed means there is no client for the cluster yet.
	ClientRetrievalFailed PropagationStatus = "ClientRetrievalFailed"
	// CreationTimedOut means the member's API server did not answer a create in time.
	CreationTimedOut PropagationStatus = "CreationTimedOut"
	// UpdateTimedOut means the member's API server did not answer an update in time.
	UpdateTimedOut PropagationStatus = "UpdateTimedOut"
	// DeletionTimedOut means the member's API server did not answer a delete in time.
	DeletionTimedOut PropagationStatus = "DeletionTimedOut"
	// LabelRemovalTimedOut means the member's API server did not answer a label removal in time.
	LabelRemovalTimedOut PropagationStatus = "LabelRemovalTimedOut"
	// ManagedByAnotherControlPlane means the member object is managed by another control plane
	// (its control-plane annotation names another id), so this one does not write it.
	ManagedByAnotherControlPlane PropagationStatus = "ManagedByAnotherControlPlane"
	// ManagedForAnotherCluster means the member object was written by this control plane for
	// another cluster registration (two KubeFedClusters that reach one cluster), so it is never
	// written or deleted through this one.
	ManagedForAnotherCluster PropagationStatus = "ManagedForAnotherCluster"
	// RevertedByAnotherWriter means another writer in the member cluster (a controller there)
	// keeps changing the member object back after the control plane applies it, so the control
	// plane applies it again only after a growing delay.
	RevertedByAnotherWriter PropagationStatus = "RevertedByAnotherWriter"
	// SourceObject means the member object is the host object that the federated object was
	// generated from (the host is registered as a member): the user's own object, left as it
	// is. It counts as propagated.
	SourceObject PropagationStatus = "SourceObject"
)
