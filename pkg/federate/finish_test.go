package federate

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// scaled builds a rendered Deployment with replicas and, when labelled, a label.
func scaled(replicas int64, labelled bool) *unstructured.Unstructured {
	o := deployment().set(replicas, "spec", "replicas")
	if labelled {
		o = o.label("tier", "front")
	}
	return o.build()
}

// finished runs Finish on a copy of obj and fails the test on error.
func finished(t *testing.T, obj *unstructured.Unstructured, retain bool, existing *unstructured.Unstructured) *unstructured.Unstructured {
	t.Helper()
	out := obj.DeepCopy()
	if err := Finish(out, thisControlPlane, thisCluster, retain, existing); err != nil {
		t.Fatal(err)
	}
	return out
}

func replicasOf(obj *unstructured.Unstructured) any {
	v, _, _ := unstructured.NestedFieldNoCopy(obj.Object, "spec", "replicas")
	return v
}

func TestFinish(t *testing.T) {
	member := func(replicas int64) *unstructured.Unstructured { return scaled(replicas, true) }
	cases := []struct {
		name         string
		obj          *unstructured.Unstructured
		retain       bool
		existing     *unstructured.Unstructured
		wantReplicas any
	}{
		{name: "without retainReplicas the template's replicas are applied", obj: scaled(3, true), existing: member(5), wantReplicas: int64(3)},
		{name: "with retainReplicas the member's replicas are kept", obj: scaled(3, true), retain: true, existing: member(5), wantReplicas: int64(5)},
		{name: "with retainReplicas and no copy yet the template's replicas are applied", obj: scaled(3, true), retain: true, wantReplicas: int64(3)},
		{
			name: "with retainReplicas and a copy without replicas none are applied", obj: scaled(3, true), retain: true,
			existing: newObject("apps/v1", "Deployment", "web").build(), wantReplicas: nil,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := finished(t, tc.obj, tc.retain, tc.existing)
			if diff := cmp.Diff(tc.wantReplicas, replicasOf(got)); diff != "" {
				t.Errorf("spec.replicas (-want +got):\n%s", diff)
			}
			ann := got.GetAnnotations()
			want := map[string]string{ControlPlaneAnnotation: thisControlPlane, ClusterAnnotation: thisCluster}
			for k, v := range want {
				if ann[k] != v {
					t.Errorf("annotation %s = %q, want %q", k, ann[k], v)
				}
			}
			if len(ann[AppliedAnnotation]) != 32 {
				t.Errorf("annotation %s = %q, want a 32-digit hash", AppliedAnnotation, ann[AppliedAnnotation])
			}
		})
	}
}

func TestFinishHashTellsWhatIsApplied(t *testing.T) {
	hash := func(obj *unstructured.Unstructured, retain bool, existing *unstructured.Unstructured) string {
		return finished(t, obj, retain, existing).GetAnnotations()[AppliedAnnotation]
	}
	base := hash(scaled(3, true), false, nil)
	cases := []struct {
		name string
		got  string
		same bool
	}{
		{name: "the same object gives the same hash", got: hash(scaled(3, true), false, scaled(9, true)), same: true},
		{name: "finishing a finished object gives the same hash", got: hash(finished(t, scaled(3, true), false, nil), false, nil), same: true},
		{name: "a label removed from the template changes the hash", got: hash(scaled(3, false), false, nil)},
		{name: "other replicas change the hash", got: hash(scaled(4, true), false, nil)},
		{name: "switching retainReplicas on changes the hash", got: hash(scaled(3, true), true, scaled(3, true))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if (tc.got == base) != tc.same {
				t.Errorf("hash %s against %s: same = %v, want %v", tc.got, base, tc.got == base, tc.same)
			}
		})
	}
	t.Run("with retainReplicas the member's own scaling does not change the hash", func(t *testing.T) {
		if a, b := hash(scaled(3, true), true, scaled(2, true)), hash(scaled(3, true), true, scaled(7, true)); a != b {
			t.Errorf("hash with the member at 2 replicas %s, at 7 %s; want them equal", a, b)
		}
	})
}

func TestACopyWithAFieldNoLongerRenderedIsUpdated(t *testing.T) {
	// The copy was written when the template had the label; the label is then removed from
	// the template. Every field of the new object is in the copy, so only the hash tells.
	copyWritten := finished(t, scaled(3, true), false, nil)
	copyWritten.SetLabels(map[string]string{ManagedLabel: "true", "tier": "front"})
	desired := finished(t, scaled(3, false), false, copyWritten)
	if !subset(scaled(3, false).Object, copyWritten.Object, false) {
		t.Fatal("the test needs a copy that holds every field of the new template")
	}
	got := Decide(ClusterInput{Selected: true, Ready: true, ControlPlaneID: thisControlPlane, ClusterName: thisCluster, Desired: desired, Existing: copyWritten})
	if got.Action != ActionUpdate {
		t.Errorf("Decide() = %+v, want an update", got)
	}
}
