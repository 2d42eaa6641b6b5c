// Package rbac proves the Helm chart's host RBAC for fed-controller on a lab host: the chart's
// ServiceAccount may do what fed-controller does, propagation works under it without a single
// denial, and it may not read Secrets elsewhere, write workloads, RBAC or CRDs.
package rbac
