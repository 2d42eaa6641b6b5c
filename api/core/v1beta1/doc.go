// Package v1beta1 holds the core.kubefed.io/v1beta1 API: member cluster registrations
// (KubeFedCluster), the control plane's settings (KubeFedConfig) and the types it federates
// (FederatedTypeConfig).
//
// +kubebuilder:object:generate=true
// +groupName=core.kubefed.io
package v1beta1
