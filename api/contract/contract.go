// Package contract holds the names that the control plane and its member objects share: the
// label, annotations, finalizer and field owner that fed-controller and fedctl write and look
// for, and the one test of whether a type federates namespaces. KubeFed's names (kubefed.io/...)
// are kept as KubeFed spells them, so that objects and tools made for KubeFed keep working.
package contract

// Labels and annotations of member objects.
const (
	// ManagedLabel marks the member objects that a control plane manages. "false" tells every
	// control plane to leave the object alone.
	ManagedLabel = "kubefed.io/managed"
	// ManagedLabelValue is the value of ManagedLabel on every object a control plane writes.
	ManagedLabelValue = "true"
	// ControlPlaneAnnotation holds, on every member object, the id of the control plane that
	// manages it. Another control plane leaves the object alone.
	ControlPlaneAnnotation = "fedplane.io/control-plane-id"
	// ClusterAnnotation holds, on every member object, the name of the KubeFedCluster it was
	// written for. A copy written for another registration of the same cluster is left alone.
	ClusterAnnotation = "fedplane.io/cluster"
	// AppliedAnnotation holds, on every member object, a hash of what the control plane applied
	// to it last, so that a write is sent only when it would change something.
	AppliedAnnotation = "fedplane.io/applied"
)

// Annotations, finalizer and field owner of federated objects and of writes.
const (
	// OrphanAnnotation, set to "true" on a federated object, keeps its member objects when it is
	// deleted; they only lose the managed label.
	OrphanAnnotation = "kubefed.io/orphan"
	// DeleteOptionAnnotation holds, as JSON, the metav1.DeleteOptions used to delete member
	// objects, such as {"propagationPolicy":"Orphan"}.
	DeleteOptionAnnotation = "kubefed.io/deleteoption"
	// TemplateValuesAnnotation, set to "true" on a federated object, has the templates in the
	// string values of each cluster's object filled in for that cluster ({{ .cluster }},
	// {{ .labels.KEY }}, {{ .namespace }}), once its overrides are applied. fedplane's own
	// extension: without it, values are propagated as written, as KubeFed does.
	TemplateValuesAnnotation = "fedplane.io/template-values"
	// SyncFinalizer keeps a federated object until its member objects are deleted or orphaned.
	SyncFinalizer = "kubefed.io/sync-controller"
	// FieldOwner is the field manager of every write to members.
	FieldOwner = "fedplane"
)

// Auto-federation: the label and annotations of native host objects that fed-controller, run
// with --auto-federate, turns into federated objects, and what it writes on those. fedplane's own
// extension.
const (
	// FederateLabel, set to "true" on a host object of a type fed-controller auto-federates,
	// gives it a federated object of the same name, owned by it, whose template is the object.
	// Removing the label (or any other value) deletes that federated object.
	FederateLabel = "fedplane.io/federate"
	// FederateLabelValue is the value of FederateLabel that asks for a federated object.
	FederateLabelValue = "true"
	// PlacementAnnotation holds, on a labelled host object, the placement of its federated
	// object as JSON or YAML: {"clusters": ["a", "b"]} or {"clusterSelector": {...}}. Without it,
	// the federated object selects every cluster (and a namespaced one is limited to its
	// namespace's FederatedNamespace).
	PlacementAnnotation = "fedplane.io/placement"
	// OrphanOnUnfederateAnnotation, set to "true" on a labelled host object, keeps the member
	// copies when the label is removed: the federated object is deleted with OrphanAnnotation.
	OrphanOnUnfederateAnnotation = "fedplane.io/orphan-on-unfederate"
	// PlacementAppliedAnnotation holds, on a generated federated object, a hash of the
	// PlacementAnnotation whose placement was last written to it; the placement is written
	// again only when the annotation changes, so a placement edited by hand stays.
	PlacementAppliedAnnotation = "fedplane.io/placement-applied"
	// AutoFederateTemplateOwner is the field manager of the template (and the owner reference)
	// of generated federated objects.
	AutoFederateTemplateOwner = "fedplane-autofederate"
	// AutoFederatePlacementOwner is the field manager of their placement.
	AutoFederatePlacementOwner = "fedplane-autofederate-placement"
)

// IsNamespace tells whether the kind group/kind is the core Namespace, whose federated type
// (FederatedNamespace) lives in the namespace it federates and places every namespaced
// federated object in it.
func IsNamespace(group, kind string) bool { return group == "" && kind == "Namespace" }
