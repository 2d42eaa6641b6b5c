// Package render builds the object that one member cluster receives of a federated object:
// the template with the cluster's overrides (pkg/overrides), then the control plane's
// annotations, the hash of what is applied and, with retainReplicas, the member's own replicas.
// The sync controller writes what it returns and `fedctl plan` prints it, so that the preview
// is the write. It is pure: it reads no API server.
package render
