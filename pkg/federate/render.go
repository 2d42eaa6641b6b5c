package federate

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
	"github.com/fedplane/fedplane/pkg/render"
)

// render builds the object one cluster should have, given its current copy (nil when none), as
// pkg/render does for fedctl plan too.
func (r *SyncReconciler) render(s *scope, name string, existing *unstructured.Unstructured) (render.Result, error) {
	var labels map[string]string
	for _, c := range s.clusters {
		if c.Name == name {
			labels = c.Labels
		}
	}
	return render.Member(render.Input{
		Federated: s.fed, Overrides: s.spec.Overrides, Cluster: name, ClusterLabels: labels, ControlPlaneID: r.ControlPlaneID, Existing: existing,
		RetainReplicas: typesv1beta1.RetainReplicas(s.fed),
		Target:         render.Target{APIVersion: r.Type.Target.GroupVersion().String(), Kind: r.Type.Target.Kind, Namespaced: r.Type.Namespaced},
	})
}
