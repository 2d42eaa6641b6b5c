package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// PropagatedVersion records, for one namespaced federated object, the template and overrides
// that were last propagated and the version of the resulting object in each member. Its name is
// the target kind in lower case, a dash, and the federated object's name.
//
// Unlike KubeFed's, it has no status subresource: the controller, its only writer, creates it
// with its status in one write instead of two, and changes it in one write. Readers see the
// same fields.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:path=propagatedversions
type PropagatedVersion struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Status is the recorded versions.
	// +optional
	Status PropagatedVersionStatus `json:"status,omitempty"`
}

// ClusterPropagatedVersion is the PropagatedVersion of a cluster-scoped federated object.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:path=clusterpropagatedversions,scope=Cluster
type ClusterPropagatedVersion struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Status is the recorded versions.
	// +optional
	Status PropagatedVersionStatus `json:"status,omitempty"`
}

// PropagatedVersionStatus is the template and overrides last propagated, and the version of the
// resulting object in each member.
type PropagatedVersionStatus struct {
	// TemplateVersion is the hash of the propagated template.
	TemplateVersion string `json:"templateVersion"`
	// OverrideVersion is the hash of the propagated overrides.
	OverrideVersion string `json:"overridesVersion"`
	// ClusterVersions is the version of the object in each member, sorted by cluster name:
	// "gen:<generation>", or "rv:<resourceVersion>" for kinds without a generation.
	// +optional
	ClusterVersions []ClusterObjectVersion `json:"clusterVersions,omitempty"`
}

// ClusterObjectVersion is the version of an object in one member.
type ClusterObjectVersion struct {
	// ClusterName is the member cluster.
	ClusterName string `json:"clusterName"`
	// Version is "gen:<generation>" or "rv:<resourceVersion>".
	Version string `json:"version"`
}

// PropagatedVersionList is a list of PropagatedVersion.
//
// +kubebuilder:object:root=true
type PropagatedVersionList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the versions.
	Items []PropagatedVersion `json:"items"`
}

// ClusterPropagatedVersionList is a list of ClusterPropagatedVersion.
//
// +kubebuilder:object:root=true
type ClusterPropagatedVersionList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the versions.
	Items []ClusterPropagatedVersion `json:"items"`
}
