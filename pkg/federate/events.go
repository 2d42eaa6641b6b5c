package federate

import (
	"sort"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"
)

// objectEvent is an event on the federated object that an outcome asks for.
type objectEvent struct {
	// kind is corev1.EventTypeNormal or corev1.EventTypeWarning.
	kind string
	// reason and action are the event's CamelCase reason and action.
	reason, action string
	message        string
}

// emit records the events on the federated object.
func (r *SyncReconciler) emit(s *scope, events []objectEvent) {
	for _, e := range events {
		r.Recorder.Eventf(s.fed, nil, e.kind, e.reason, e.action, "%s", e.message)
	}
}

// recordWrites records one event per kind of write done in this reconcile, naming the
// clusters in order: one event per object and action, not one per cluster, keeps the host's
// event writes from growing with the number of members.
func (r *SyncReconciler) recordWrites(s *scope, results []clusterResult) {
	byAction := map[Action][]string{}
	for _, res := range results {
		if res.written {
			byAction[res.decision.Action] = append(byAction[res.decision.Action], res.name)
		}
	}
	for _, action := range []Action{ActionCreate, ActionUpdate, ActionDelete, ActionOrphan} {
		clusters := byAction[action]
		if len(clusters) == 0 {
			continue
		}
		sort.Strings(clusters)
		noun := "cluster"
		if len(clusters) > 1 {
			noun = "clusters"
		}
		r.Recorder.Eventf(s.fed, nil, corev1.EventTypeNormal, string(action)+"InCluster", string(action),
			"%s %s %s in %s %s", pastTense(action), r.Type.Target.Kind, klog.KObj(s.fed), noun, clusterNames(clusters))
	}
}

func pastTense(a Action) string {
	switch a {
	case ActionCreate:
		return "Created"
	case ActionUpdate:
		return "Updated"
	case ActionDelete:
		return "Deleted"
	default:
		return "Orphaned"
	}
}
