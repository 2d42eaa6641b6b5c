// Package hostview reads what the sync and RSP controllers both need from the host cluster:
// the registered clusters as placement sees them, the placement of a namespace's
// FederatedNamespace, and federated fields decoded from unstructured objects.
package hostview
