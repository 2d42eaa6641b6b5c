package federate

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/fedplane/fedplane/api/contract"
	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
)

// Action is what to do with the object in one member cluster.
type Action string

// The actions that Decide returns.
const (
	// ActionNone leaves the member alone.
	ActionNone Action = "None"
	// ActionCreate creates the member object.
	ActionCreate Action = "Create"
	// ActionUpdate applies the desired object to an existing member object.
	ActionUpdate Action = "Update"
	// ActionDelete deletes the member object.
	ActionDelete Action = "Delete"
	// ActionOrphan removes the managed label and the control-plane annotation from the member
	// object and leaves it.
	ActionOrphan Action = "Orphan"
)

// ClusterInput is what Decide knows of the object in one registered cluster.
type ClusterInput struct {
	// Selected tells whether the placement selects the cluster.
	Selected bool
	// Ready tells whether the cluster is Ready and connected, so that it can be written to.
	Ready bool
	// Deleting tells whether the federated object is being deleted.
	Deleting bool
	// Orphan tells whether the federated object asks for its member objects to be kept when
	// it is deleted.
	Orphan bool
	// AdoptResources tells whether an existing object without the managed label may be taken
	// over.
	AdoptResources bool
	// ControlPlaneID is the id of this control plane.
	ControlPlaneID string
	// ClusterName is the name of the cluster's registration, the KubeFedCluster.
	ClusterName string
	// Desired is the object the cluster should have; nil when it could not be rendered, or
	// when the cluster is not selected.
	Desired *unstructured.Unstructured
	// RenderFailed tells why Desired is nil for a selected cluster: the overrides do not apply.
	RenderFailed bool
	// Existing is the member object, nil when there is none (or none is known).
	Existing *unstructured.Unstructured
	// ExistingApplied tells that Existing is a slim copy from the member cache (see
	// cluster.Slim) that still holds what was last applied (see AppliedCopies); it is
	// completed once the object to apply is rendered, when that is what was applied.
	ExistingApplied bool
	// MayHaveCopy tells, for a cluster whose objects cannot be read, whether a copy may be
	// there: it was recorded as propagated, or the cluster is selected.
	MayHaveCopy bool
	// HostNamespace tells that Existing is the host's own namespace, reached through a
	// registration of the host as a member: the namespace that holds the federated object.
	// It is never deleted through the registration, only unlabelled.
	HostNamespace bool
	// Source tells that Existing is the host object the federated object was generated from
	// (auto-federation), reached through a registration of the host as a member. It is the
	// user's own object: never written, adopted or deleted through the registration.
	Source bool
}

// ClusterDecision is what Decide returns for one cluster.
type ClusterDecision struct {
	// Action is what to do.
	Action Action
	// Status is the cluster's propagation status if the action succeeds (or when there is no
	// action).
	Status typesv1beta1.PropagationStatus
	// Listed tells whether the cluster has an entry in status.clusters: it is selected, or a
	// copy is being removed from it.
	Listed bool
	// Pending tells whether the federated object must wait for this cluster before it may be
	// deleted.
	Pending bool
}

// Decide decides what to do with a federated object in one cluster. It never writes an
// object that is labelled kubefed.io/managed=false, that another control plane manages, or
// that this control plane wrote for another cluster registration,
// never writes a cluster that is not Ready, and never deletes an object it does not manage.
func Decide(in ClusterInput) ClusterDecision {
	if d, ok := leftAlone(in); ok {
		return d
	}
	managed := in.Existing != nil && in.Existing.GetLabels()[contract.ManagedLabel] == "true"

	if in.Deleting || !in.Selected {
		switch {
		case !in.Ready && (managed || in.Existing == nil && in.MayHaveCopy):
			// The copy cannot be removed now, and must not be forgotten.
			return ClusterDecision{Action: ActionNone, Status: typesv1beta1.ClusterNotReady, Listed: true, Pending: true}
		case !managed:
			return ClusterDecision{Action: ActionNone}
		case in.HostNamespace && in.Existing.GetDeletionTimestamp() != nil:
			// The host is deleting its own namespace, which waits for the federated objects
			// in it: waiting for the namespace in turn would wait forever.
			return ClusterDecision{Action: ActionNone}
		case in.HostNamespace:
			return ClusterDecision{Action: ActionOrphan, Status: typesv1beta1.WaitingForRemoval, Listed: true, Pending: true}
		case in.Deleting && in.Orphan:
			return ClusterDecision{Action: ActionOrphan, Status: typesv1beta1.WaitingForRemoval, Listed: true, Pending: true}
		case in.Existing.GetDeletionTimestamp() != nil:
			return ClusterDecision{Action: ActionNone, Status: typesv1beta1.WaitingForRemoval, Listed: true, Pending: true}
		default:
			return ClusterDecision{Action: ActionDelete, Status: typesv1beta1.WaitingForRemoval, Listed: true, Pending: true}
		}
	}

	switch {
	case !in.Ready:
		return ClusterDecision{Action: ActionNone, Status: typesv1beta1.ClusterNotReady, Listed: true}
	case in.Desired == nil:
		status := typesv1beta1.ComputeResourceFailed
		if in.RenderFailed {
			status = typesv1beta1.ApplyOverridesFailed
		}
		return ClusterDecision{Action: ActionNone, Status: status, Listed: true}
	case in.Existing == nil:
		return ClusterDecision{Action: ActionCreate, Listed: true}
	case !managed && !in.AdoptResources:
		return ClusterDecision{Action: ActionNone, Status: typesv1beta1.AlreadyExists, Listed: true}
	case in.Existing.GetDeletionTimestamp() != nil:
		// An object on its way out is recreated once it is gone.
		return ClusterDecision{Action: ActionNone, Status: typesv1beta1.WaitingForRemoval, Listed: true}
	case managed && Matches(in.Desired, in.Existing):
		return ClusterDecision{Action: ActionNone, Listed: true}
	default:
		return ClusterDecision{Action: ActionUpdate, Listed: true}
	}
}

// leftAlone returns the decision for a member object that is never written or deleted through
// this registration: the host object the federated object was generated from, one labelled
// kubefed.io/managed=false, one of another control plane, or one written for another
// registration.
func leftAlone(in ClusterInput) (ClusterDecision, bool) {
	if in.Existing == nil {
		return ClusterDecision{}, false
	}
	if in.Source {
		return ClusterDecision{Action: ActionNone, Status: typesv1beta1.SourceObject, Listed: in.Selected && !in.Deleting}, true
	}
	if in.Existing.GetLabels()[contract.ManagedLabel] == "false" {
		return ClusterDecision{Action: ActionNone, Status: typesv1beta1.ManagedLabelFalse, Listed: in.Selected && !in.Deleting}, true
	}
	ann := in.Existing.GetAnnotations()
	if id := ann[contract.ControlPlaneAnnotation]; id != "" && id != in.ControlPlaneID {
		return ClusterDecision{Action: ActionNone, Status: typesv1beta1.ManagedByAnotherControlPlane, Listed: in.Selected && !in.Deleting}, true
	}
	if c := ann[contract.ClusterAnnotation]; c != "" && c != in.ClusterName && ann[contract.ControlPlaneAnnotation] == in.ControlPlaneID {
		return ClusterDecision{Action: ActionNone, Status: typesv1beta1.ManagedForAnotherCluster, Listed: in.Selected && !in.Deleting}, true
	}
	return ClusterDecision{}, false
}
