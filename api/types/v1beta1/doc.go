// Package v1beta1 holds the shape shared by every federated type of the types.kubefed.io group:
// the template, the placement, the per-cluster overrides and the propagation status.
//
// Federated types themselves (FederatedDeployment, FederatedConfigMap, ...) have no Go type: each
// one's CRD is generated from the target type's OpenAPI schema, with the fields below around it.
// Controllers read them as unstructured objects and decode the shared fields into these types.
//
// +kubebuilder:object:generate=true
// +groupName=types.kubefed.io
package v1beta1
