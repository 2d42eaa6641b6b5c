package federate

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/fedplane/fedplane/pkg/overrides"
)

// render builds the object one cluster should have, given its current copy (nil when none).
func (r *SyncReconciler) render(s *scope, name string, existing *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	ops, err := overrides.ForCluster(s.spec.Overrides, name)
	if err != nil {
		return nil, err
	}
	out, err := overrides.Render(overrides.Input{
		Template: s.template, APIVersion: r.Type.Target.GroupVersion().String(), Kind: r.Type.Target.Kind,
		Name: s.fed.GetName(), Namespace: s.fed.GetNamespace(), Namespaced: r.Type.Namespaced, Overrides: ops,
	})
	if err != nil {
		return nil, err
	}
	retain, _, _ := unstructured.NestedBool(s.fed.Object, "spec", "retainReplicas")
	if err := Finish(out.Object, r.ControlPlaneID, name, retain, existing); err != nil {
		return nil, err
	}
	return out.Object, nil
}
