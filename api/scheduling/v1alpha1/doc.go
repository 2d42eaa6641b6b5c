// Package v1alpha1 holds the ReplicaSchedulingPreference API of the scheduling.kubefed.io group.
//
// +kubebuilder:object:generate=true
// +groupName=scheduling.kubefed.io
package v1alpha1
