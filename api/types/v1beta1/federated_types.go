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
	// ClusterSelector selects clusters by their labels. It is ignored when clusters is set.
	// +optional
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
	// Clusters has one entry per member cluster where propagation did not simply succeed, or
	// where remote status is collected, sorted by name.
	// +optional
	Clusters []ClusterStatus `json:"clusters,omitempty"`
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
}

// AggregateReason explains the Propagation condition.
type AggregateReason string

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
