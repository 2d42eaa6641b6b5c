// Package v1alpha1 holds the core.kubefed.io/v1alpha1 API: the versions of the objects that the
// control plane last propagated to each member (PropagatedVersion, ClusterPropagatedVersion).
//
// +kubebuilder:object:generate=true
// +groupName=core.kubefed.io
package v1alpha1
