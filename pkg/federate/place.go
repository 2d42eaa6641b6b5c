package federate

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
	"github.com/fedplane/fedplane/pkg/placement"
)

// place resolves the placement from what read found; a deleted object is placed nowhere.
func (r *SyncReconciler) place(_ context.Context, s *scope) error {
	in := placement.Input{
		Placement: s.spec.Placement, Namespaced: r.Type.Namespaced, IsFederatedNamespace: r.Type.isNamespace(),
		Clusters: s.clusters, NamespacePlacement: s.nsPlacement,
	}
	if s.deleting {
		in.Placement = typesv1beta1.Placement{Clusters: []typesv1beta1.ClusterReference{}}
	}
	res, err := placement.Resolve(in)
	if err != nil {
		// Nothing is placed; copies already made stay until the placement is fixed.
		s.overall = condition{reason: typesv1beta1.ComputePlacementFailed, message: err.Error()}
		r.Recorder.Eventf(s.fed, nil, corev1.EventTypeWarning, string(s.overall.reason), "Place", "Invalid placement: %v", err)
		return reconcile.TerminalError(err)
	}
	s.placed = res
	if res.Reason == placement.NamespaceNotFederated && !s.deleting {
		// A deleted object's namespace placement is not read: it is placed nowhere anyway, and
		// finish says what it waits for.
		s.overall = condition{reason: typesv1beta1.NamespaceNotFederated}
	}
	if len(res.UnknownClusters) > 0 {
		// KubeFed ignores such a name, and so does the status's reason; the message and one
		// event, when the names change, tell them.
		s.overall.message = unknownClustersMessage(res.UnknownClusters)
		if s.overall.message != s.previousMessage() {
			r.Recorder.Eventf(s.fed, nil, corev1.EventTypeWarning, reasonUnknownClusters, "Place", "%s", s.overall.message)
		}
	}
	return nil
}
