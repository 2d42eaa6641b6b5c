// Package autofederate turns native objects of the host into federated objects: Template and
// FederatedObject build a federated object from a host object (fedctl federate uses them too),
// ParsePlacement reads the fedplane.io/placement annotation, and Reconciler, started per
// federated type by fed-controller's --auto-federate, keeps a federated object for every host
// object labelled fedplane.io/federate=true, owned by it.
package autofederate
