// Package typegen builds what federating a type takes: the federated type's CRD, whose
// spec.template carries the target type's structural schema converted from the OpenAPI v3
// schemas an API server publishes, and the FederatedTypeConfig that names both types.
// It has no API client: callers fetch the OpenAPI documents and install the results.
package typegen
