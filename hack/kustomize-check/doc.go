// Package kustomizecheck builds config/default with kustomize's own library (krusty), as
// `kubectl apply -k config/default` does. It is a module of its own so that neither fedplane's
// module nor the lab's tools module depends on kustomize.
package kustomizecheck
