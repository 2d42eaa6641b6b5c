package federate

import (
	"reflect"
	"sort"

	corev1 "k8s.io/api/core/v1"

	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
)

// StatusInput is the outcome of one reconcile, from which SetStatus builds the status.
type StatusInput struct {
	// Generation is the federated object's metadata.generation.
	Generation int64
	// Reason is the whole object's reason: empty, or why it could not be propagated at all.
	Reason typesv1beta1.AggregateReason
	// Clusters are the listed clusters' statuses, in any order.
	Clusters []typesv1beta1.ClusterStatus
	// Written tells whether a member object was created, updated or removed.
	Written bool
	// Now is the current time in RFC 3339.
	Now string
	// Replicas and ReadyReplicas are the summed replicas of a scalable workload whose remote
	// status is collected; nil otherwise.
	Replicas, ReadyReplicas *int64
}

// SetStatus sets a federated object's status as KubeFed does, and tells whether it changed:
// observedGeneration; status.clusters sorted by name; and the Propagation condition, True
// with an empty reason when every listed cluster is fine, else False with the whole object's
// reason or CheckClusters; and the summed replicas, when given. lastTransitionTime changes when the status or reason does, and
// lastUpdateTime also when status.clusters changes or a member object was written. Nothing
// changes, timestamps included, when the outcome is the same.
func SetStatus(status *typesv1beta1.FederatedStatus, in StatusInput) bool {
	clusters := append([]typesv1beta1.ClusterStatus(nil), in.Clusters...)
	sort.Slice(clusters, func(i, j int) bool { return clusters[i].Name < clusters[j].Name })
	reason := in.Reason
	if reason == typesv1beta1.AggregateSuccess {
		for _, c := range clusters {
			if c.Status != typesv1beta1.ClusterPropagationOK {
				reason = typesv1beta1.CheckClusters
				break
			}
		}
	}
	changed := status.ObservedGeneration != in.Generation ||
		!reflect.DeepEqual(status.Replicas, in.Replicas) || !reflect.DeepEqual(status.ReadyReplicas, in.ReadyReplicas)
	status.ObservedGeneration = in.Generation
	status.Replicas, status.ReadyReplicas = in.Replicas, in.ReadyReplicas

	clustersChanged := !clustersEqual(status.Clusters, clusters)
	if clustersChanged {
		status.Clusters = clusters
		if len(clusters) == 0 {
			status.Clusters = nil
		}
	}

	want := corev1.ConditionTrue
	if reason != typesv1beta1.AggregateSuccess {
		want = corev1.ConditionFalse
	}
	var cond *typesv1beta1.Condition
	for _, c := range status.Conditions {
		if c != nil && c.Type == typesv1beta1.PropagationConditionType {
			cond = c
			break
		}
	}
	if cond == nil {
		cond = &typesv1beta1.Condition{Type: typesv1beta1.PropagationConditionType}
		status.Conditions = append(status.Conditions, cond)
		changed = true
	}
	transition := cond.Status != want || cond.Reason != reason || cond.LastTransitionTime == ""
	if transition {
		cond.Status, cond.Reason, cond.LastTransitionTime = want, reason, in.Now
	}
	if transition || clustersChanged || in.Written {
		cond.LastUpdateTime = in.Now
	}
	return changed || transition || clustersChanged || in.Written
}

func clustersEqual(a, b []typesv1beta1.ClusterStatus) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || a[i].Status != b[i].Status {
			return false
		}
		if !rawEqual(a[i].RemoteStatus, b[i].RemoteStatus) {
			return false
		}
	}
	return true
}

func rawEqual(a, b *typesv1beta1.Raw) bool {
	if a == nil || b == nil {
		return a == b
	}
	var av, bv any
	if a.Decode(&av) != nil || b.Decode(&bv) != nil {
		return reflect.DeepEqual(a, b)
	}
	return reflect.DeepEqual(av, bv)
}
