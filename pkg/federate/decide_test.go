package federate

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/fedplane/fedplane/api/contract"
	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
)

// input builds a ClusterInput fluently. It starts from a selected, Ready cluster of this
// control plane whose desired object is rendered and which has no copy yet.
type input struct{ in ClusterInput }

func newInput() *input {
	return &input{in: ClusterInput{
		Selected:       true,
		Ready:          true,
		ControlPlaneID: thisControlPlane,
		ClusterName:    thisCluster,
		Desired:        desiredConfigMap().build(),
	}}
}

func (b *input) notSelected() *input {
	b.in.Selected = false
	b.in.Desired = nil
	return b
}

func (b *input) notReady() *input { b.in.Ready = false; return b }

func (b *input) deleting() *input { b.in.Deleting = true; return b }

func (b *input) orphan() *input { b.in.Orphan = true; return b }

func (b *input) adopt() *input { b.in.AdoptResources = true; return b }

func (b *input) mayHaveCopy() *input { b.in.MayHaveCopy = true; return b }

func (b *input) hostNamespace() *input { b.in.HostNamespace = true; return b }

func (b *input) source() *input { b.in.Source = true; return b }

// renderFailed drops the desired object; overridesFailed tells whether the overrides did not
// apply.
func (b *input) renderFailed(overridesFailed bool) *input {
	b.in.Desired = nil
	b.in.RenderFailed = overridesFailed
	return b
}

func (b *input) existing(o *object) *input { b.in.Existing = o.build(); return b }

func (b *input) build() ClusterInput { return b.in }

// thisCluster is the registration under test; aliasCluster is another registration of the
// same cluster.
const (
	thisCluster  = "cce"
	aliasCluster = "cce-alias"
)

// desiredConfigMap is the rendered object of every case.
func desiredConfigMap() *object { return configMap(map[string]any{"mode": "fast"}) }

// managedCopy is a member copy that this control plane wrote and that the member's API server
// has since stored.
func managedCopy() *object { return desiredConfigMap().serverFields() }

// unmanagedCopy is a member object of the same name that no control plane manages.
func unmanagedCopy() *object {
	return newObject("v1", "ConfigMap", "settings").
		set("default", "metadata", "namespace").
		serverFields().
		set(map[string]any{"mode": "slow"}, "data")
}

// Decisions, named for what they say.
var (
	createListed   = ClusterDecision{Action: ActionCreate, Listed: true}
	updateListed   = ClusterDecision{Action: ActionUpdate, Listed: true}
	noneListedOK   = ClusterDecision{Action: ActionNone, Listed: true}
	noneUnlisted   = ClusterDecision{Action: ActionNone}
	deletePending  = ClusterDecision{Action: ActionDelete, Status: typesv1beta1.WaitingForRemoval, Listed: true, Pending: true}
	orphanPending  = ClusterDecision{Action: ActionOrphan, Status: typesv1beta1.WaitingForRemoval, Listed: true, Pending: true}
	waitPending    = ClusterDecision{Action: ActionNone, Status: typesv1beta1.WaitingForRemoval, Listed: true, Pending: true}
	notReadyListed = ClusterDecision{Action: ActionNone, Status: typesv1beta1.ClusterNotReady, Listed: true}
	notReadyHeld   = ClusterDecision{Action: ActionNone, Status: typesv1beta1.ClusterNotReady, Listed: true, Pending: true}
)

func TestDecide(t *testing.T) {
	cases := []struct {
		name string
		in   ClusterInput
		want ClusterDecision
	}{
		// Objects that the control plane leaves alone.
		{
			name: "the host object a federated object was generated from is neither adopted nor updated",
			in:   newInput().adopt().source().existing(unmanagedCopy()).build(),
			want: ClusterDecision{Action: ActionNone, Status: typesv1beta1.SourceObject, Listed: true},
		},
		{
			name: "the host object a federated object was generated from is not deleted with it",
			in:   newInput().deleting().mayHaveCopy().source().existing(unmanagedCopy()).build(),
			want: ClusterDecision{Action: ActionNone, Status: typesv1beta1.SourceObject},
		},
		{
			name: "the host object a federated object was generated from is not deleted when the cluster is no longer selected",
			in:   newInput().notSelected().source().existing(unmanagedCopy()).build(),
			want: ClusterDecision{Action: ActionNone, Status: typesv1beta1.SourceObject},
		},
		{
			name: "the host object is left alone even when a control plane's label is on it",
			in:   newInput().source().existing(managedCopy()).build(),
			want: ClusterDecision{Action: ActionNone, Status: typesv1beta1.SourceObject, Listed: true},
		},
		{
			name: "a copy labelled managed=false in a selected cluster is left alone and listed",
			in:   newInput().existing(managedCopy().label(contract.ManagedLabel, "false")).build(),
			want: ClusterDecision{Action: ActionNone, Status: typesv1beta1.ManagedLabelFalse, Listed: true},
		},
		{
			name: "a copy labelled managed=false in a cluster that is not selected is left alone and not listed",
			in:   newInput().notSelected().existing(managedCopy().label(contract.ManagedLabel, "false")).build(),
			want: ClusterDecision{Action: ActionNone, Status: typesv1beta1.ManagedLabelFalse},
		},
		{
			name: "a copy labelled managed=false is neither deleted nor orphaned with the federated object",
			in:   newInput().deleting().orphan().existing(managedCopy().label(contract.ManagedLabel, "false")).build(),
			want: ClusterDecision{Action: ActionNone, Status: typesv1beta1.ManagedLabelFalse},
		},
		{
			name: "a copy labelled managed=false in a cluster that is not Ready is left alone",
			in:   newInput().notReady().existing(managedCopy().label(contract.ManagedLabel, "false")).build(),
			want: ClusterDecision{Action: ActionNone, Status: typesv1beta1.ManagedLabelFalse, Listed: true},
		},
		{
			name: "a copy of another control plane in a selected cluster is left alone and listed",
			in:   newInput().existing(managedCopy().annotate(contract.ControlPlaneAnnotation, otherControlPlane)).build(),
			want: ClusterDecision{Action: ActionNone, Status: typesv1beta1.ManagedByAnotherControlPlane, Listed: true},
		},
		{
			name: "a copy of another control plane is not adopted",
			in:   newInput().adopt().existing(unmanagedCopy().annotate(contract.ControlPlaneAnnotation, otherControlPlane)).build(),
			want: ClusterDecision{Action: ActionNone, Status: typesv1beta1.ManagedByAnotherControlPlane, Listed: true},
		},
		{
			name: "a copy of another control plane in a cluster that is not selected is not deleted",
			in:   newInput().notSelected().existing(managedCopy().annotate(contract.ControlPlaneAnnotation, otherControlPlane)).build(),
			want: ClusterDecision{Action: ActionNone, Status: typesv1beta1.ManagedByAnotherControlPlane},
		},
		{
			name: "a copy of another control plane is not orphaned with the federated object",
			in:   newInput().deleting().orphan().existing(managedCopy().annotate(contract.ControlPlaneAnnotation, otherControlPlane)).build(),
			want: ClusterDecision{Action: ActionNone, Status: typesv1beta1.ManagedByAnotherControlPlane},
		},

		// Copies written for another registration of the same cluster.
		{
			name: "a copy written for another registration in a cluster that is not selected is not deleted",
			in:   newInput().notSelected().existing(managedCopy().annotate(contract.ClusterAnnotation, aliasCluster)).build(),
			want: ClusterDecision{Action: ActionNone, Status: typesv1beta1.ManagedForAnotherCluster},
		},
		{
			name: "a copy written for another registration in a selected cluster is left alone and listed",
			in:   newInput().existing(managedCopy().annotate(contract.ClusterAnnotation, aliasCluster)).build(),
			want: ClusterDecision{Action: ActionNone, Status: typesv1beta1.ManagedForAnotherCluster, Listed: true},
		},
		{
			name: "a copy written for another registration is neither deleted nor orphaned with the federated object",
			in:   newInput().deleting().orphan().existing(managedCopy().annotate(contract.ClusterAnnotation, aliasCluster)).build(),
			want: ClusterDecision{Action: ActionNone, Status: typesv1beta1.ManagedForAnotherCluster},
		},
		{
			name: "a copy written for this registration that is no longer selected is deleted",
			in:   newInput().notSelected().existing(managedCopy().annotate(contract.ClusterAnnotation, thisCluster)).build(),
			want: deletePending,
		},
		{
			name: "a copy that records no registration (written before registrations were recorded) is this one's",
			in:   newInput().notSelected().existing(managedCopy()).build(),
			want: deletePending,
		},
		{
			name: "another control plane's copy naming another registration reports the other control plane",
			in:   newInput().existing(managedCopy().annotate(contract.ControlPlaneAnnotation, otherControlPlane).annotate(contract.ClusterAnnotation, aliasCluster)).build(),
			want: ClusterDecision{Action: ActionNone, Status: typesv1beta1.ManagedByAnotherControlPlane, Listed: true},
		},

		// Clusters that are not selected.
		{
			name: "a managed copy in a cluster that is neither selected nor Ready waits for the cluster",
			in:   newInput().notSelected().notReady().existing(managedCopy()).build(),
			want: notReadyHeld,
		},
		{
			name: "an unknown copy in a cluster that is neither selected nor Ready waits for the cluster",
			in:   newInput().notSelected().notReady().mayHaveCopy().build(),
			want: notReadyHeld,
		},
		{
			name: "a cluster that is neither selected nor Ready and has no copy is forgotten",
			in:   newInput().notSelected().notReady().build(),
			want: noneUnlisted,
		},
		{
			name: "an unmanaged copy in a cluster that is neither selected nor Ready is left alone",
			in:   newInput().notSelected().notReady().mayHaveCopy().existing(unmanagedCopy()).build(),
			want: noneUnlisted,
		},
		{
			name: "a managed copy in a Ready cluster that is not selected is deleted",
			in:   newInput().notSelected().existing(managedCopy()).build(),
			want: deletePending,
		},
		{
			name: "a managed copy in a cluster that is not selected is deleted, not orphaned, while the federated object stays",
			in:   newInput().notSelected().orphan().existing(managedCopy()).build(),
			want: deletePending,
		},
		{
			name: "a managed copy made by KubeFed in a cluster that is not selected is deleted",
			in:   newInput().notSelected().existing(managedCopy().remove("metadata", "annotations", contract.ControlPlaneAnnotation)).build(),
			want: deletePending,
		},
		{
			name: "a managed copy being deleted in a cluster that is not selected is waited for",
			in:   newInput().notSelected().existing(managedCopy().deleting()).build(),
			want: waitPending,
		},
		{
			name: "an unmanaged copy in a cluster that is not selected is left alone and not listed",
			in:   newInput().notSelected().existing(unmanagedCopy()).build(),
			want: noneUnlisted,
		},
		{
			name: "a Ready cluster that is not selected and has no copy is not listed, whatever was recorded",
			in:   newInput().notSelected().mayHaveCopy().build(),
			want: noneUnlisted,
		},

		// The federated object is being deleted.
		{
			name: "a managed copy is deleted with the federated object",
			in:   newInput().deleting().existing(managedCopy()).build(),
			want: deletePending,
		},
		{
			name: "a managed copy is orphaned when the federated object asks for it",
			in:   newInput().deleting().orphan().existing(managedCopy()).build(),
			want: orphanPending,
		},
		{
			name: "a managed copy in a cluster that is not Ready holds the federated object's deletion",
			in:   newInput().deleting().orphan().notReady().existing(managedCopy()).build(),
			want: notReadyHeld,
		},
		{
			name: "a managed copy being deleted is waited for",
			in:   newInput().deleting().existing(managedCopy().deleting()).build(),
			want: waitPending,
		},
		{
			name: "the host's own namespace is unlabelled, never deleted, when its FederatedNamespace is deleted",
			in:   newInput().deleting().hostNamespace().existing(managedCopy()).build(),
			want: orphanPending,
		},
		{
			name: "the host's own namespace is unlabelled, never deleted, when its cluster is no longer selected",
			in:   newInput().notSelected().hostNamespace().existing(managedCopy()).build(),
			want: orphanPending,
		},
		{
			name: "the host's own namespace being deleted does not hold its FederatedNamespace's deletion",
			in:   newInput().deleting().hostNamespace().existing(managedCopy().deleting()).build(),
			want: noneUnlisted,
		},
		{
			name: "the host's own namespace in a cluster that is not Ready holds the deletion",
			in:   newInput().deleting().notReady().hostNamespace().existing(managedCopy()).build(),
			want: notReadyHeld,
		},
		{
			name: "the host's own namespace of another control plane is left alone",
			in:   newInput().deleting().hostNamespace().existing(managedCopy().annotate(contract.ControlPlaneAnnotation, otherControlPlane)).build(),
			want: ClusterDecision{Action: ActionNone, Status: typesv1beta1.ManagedByAnotherControlPlane},
		},
		{
			name: "an unmanaged copy is left alone when the federated object is deleted",
			in:   newInput().deleting().adopt().existing(unmanagedCopy()).build(),
			want: noneUnlisted,
		},
		{
			name: "a Ready cluster without a copy does not hold the federated object's deletion",
			in:   newInput().deleting().mayHaveCopy().build(),
			want: noneUnlisted,
		},

		// Selected clusters.
		{
			name: "a selected cluster that is not Ready is not written",
			in:   newInput().notReady().build(),
			want: notReadyListed,
		},
		{
			name: "a drifted copy in a selected cluster that is not Ready is not written",
			in:   newInput().notReady().existing(managedCopy().set(map[string]any{"mode": "slow"}, "data")).build(),
			want: notReadyListed,
		},
		{
			name: "overrides that do not apply are reported as ApplyOverridesFailed",
			in:   newInput().renderFailed(true).existing(managedCopy()).build(),
			want: ClusterDecision{Action: ActionNone, Status: typesv1beta1.ApplyOverridesFailed, Listed: true},
		},
		{
			name: "a desired object that could not be built otherwise is reported as ComputeResourceFailed",
			in:   newInput().renderFailed(false).build(),
			want: ClusterDecision{Action: ActionNone, Status: typesv1beta1.ComputeResourceFailed, Listed: true},
		},
		{
			name: "a missing copy is created",
			in:   newInput().build(),
			want: createListed,
		},
		{
			name: "an unmanaged copy is adopted when adoption is enabled",
			in:   newInput().adopt().existing(unmanagedCopy()).build(),
			want: updateListed,
		},
		{
			name: "an unmanaged copy that already has the desired data is adopted, to label it",
			in:   newInput().adopt().existing(managedCopy().remove("metadata", "labels", contract.ManagedLabel)).build(),
			want: updateListed,
		},
		{
			name: "an unmanaged copy is reported as AlreadyExists when adoption is disabled",
			in:   newInput().existing(unmanagedCopy()).build(),
			want: ClusterDecision{Action: ActionNone, Status: typesv1beta1.AlreadyExists, Listed: true},
		},
		{
			name: "a managed copy being deleted is recreated once it is gone",
			in:   newInput().existing(managedCopy().deleting()).build(),
			want: ClusterDecision{Action: ActionNone, Status: typesv1beta1.WaitingForRemoval, Listed: true},
		},
		{
			name: "a managed copy that matches is left alone and listed as propagated",
			in:   newInput().existing(managedCopy().label("team", "payments").set(map[string]any{"extra": "x"}, "binaryData")).build(),
			want: noneListedOK,
		},
		{
			name: "a managed copy that drifted is updated",
			in:   newInput().existing(managedCopy().set(map[string]any{"mode": "slow"}, "data")).build(),
			want: updateListed,
		},
		{
			name: "a managed copy without the control-plane annotation (made by KubeFed) is updated, to annotate it",
			in:   newInput().existing(managedCopy().remove("metadata", "annotations", contract.ControlPlaneAnnotation)).build(),
			want: updateListed,
		},
		{
			name: "a managed copy made by KubeFed is updated even when adoption is disabled",
			in:   newInput().existing(managedCopy().remove("metadata", "annotations")).build(),
			want: updateListed,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := deepCopyInput(tc.in)
			got := Decide(tc.in)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Decide() mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(objectOf(before.Desired), objectOf(tc.in.Desired)); diff != "" {
				t.Errorf("Decide() changed the desired object (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(objectOf(before.Existing), objectOf(tc.in.Existing)); diff != "" {
				t.Errorf("Decide() changed the member object (-want +got):\n%s", diff)
			}
		})
	}
}

func deepCopyInput(in ClusterInput) ClusterInput {
	if in.Desired != nil {
		in.Desired = in.Desired.DeepCopy()
	}
	if in.Existing != nil {
		in.Existing = in.Existing.DeepCopy()
	}
	return in
}

// objectOf returns the object's content, or nil for no object.
func objectOf(u *unstructured.Unstructured) map[string]any {
	if u == nil {
		return nil
	}
	return u.Object
}
