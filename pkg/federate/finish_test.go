package federate

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/fedplane/fedplane/api/contract"
)

// rendered renders the federated object for thisCluster as the sync reconciler does, given the
// member's copy, and fails the test on error.
func rendered(t *testing.T, fed *fedBuilder, existing *unstructured.Unstructured) *unstructured.Unstructured {
	t.Helper()
	r := &SyncReconciler{Type: configMapType(false), ControlPlaneID: thisControlPlane}
	res, err := r.render(fed.scope(t), thisCluster, existing)
	if err != nil {
		t.Fatal(err)
	}
	return res.Object
}

// finishedCopy is obj as the sync reconciler renders it, hash included; obj must be the
// rendering of newFed's template with the data obj has.
func finishedCopy(t *testing.T, obj *unstructured.Unstructured) *unstructured.Unstructured {
	t.Helper()
	data, _, _ := unstructured.NestedMap(obj.Object, "data")
	return rendered(t, newFed().set(data, "spec", "template", "data"), nil)
}

func TestACopyWithAFieldNoLongerRenderedIsUpdated(t *testing.T) {
	// The copy was written when the template had the label; the label is then removed from
	// the template. Every field of the new object is in the copy, so only the hash tells.
	labelled := newFed().set(map[string]any{"tier": "front"}, "spec", "template", "metadata", "labels")
	copyWritten := rendered(t, labelled, nil)
	desired := rendered(t, newFed(), copyWritten)
	unhashed := desired.DeepCopy()
	unstructured.RemoveNestedField(unhashed.Object, "metadata", "annotations", contract.AppliedAnnotation)
	if !subset(unhashed.Object, copyWritten.Object, false) {
		t.Fatal("the test needs a copy that holds every field of the new object but its hash")
	}
	got := Decide(ClusterInput{Selected: true, Ready: true, ControlPlaneID: thisControlPlane, ClusterName: thisCluster, Desired: desired, Existing: copyWritten})
	if got.Action != ActionUpdate {
		t.Errorf("Decide() = %+v, want an update", got)
	}
}
