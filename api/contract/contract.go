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

// IsNamespace tells whether the kind group/kind is the core Namespace, whose federated type
// (FederatedNamespace) lives in the namespace it federates and places every namespaced
// federated object in it.
func IsNamespace(group, kind string) bool { return group == "" && kind == "Namespace" }
