package federate

import (
	"context"
	"encoding/json"
	"reflect"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
	"github.com/fedplane/fedplane/pkg/conflict"
)

// StatusInput is the outcome of one reconcile, from which SetStatus builds the status.
type StatusInput struct {
	// Generation is the federated object's metadata.generation.
	Generation int64
	// Reason is the whole object's reason: empty, or why it could not be propagated at all.
	Reason typesv1beta1.AggregateReason
	// Message is the Propagation condition's message: what concerns the whole object, such
	// as why its placement failed, then what rendering dropped from the template; empty when
	// there is nothing to say.
	Message string
	// Clusters are the listed clusters' statuses, in any order.
	Clusters []typesv1beta1.ClusterStatus
	// Written tells whether a member object was created, updated or removed.
	Written bool
	// Now is the current time in RFC 3339.
	Now string
	// Replicas, ReadyReplicas and StaleReplicas are the summed replicas of a scalable
	// workload whose remote status is collected (see countReplicas); nil otherwise.
	Replicas, ReadyReplicas, StaleReplicas *int64
}

// SetStatus sets a federated object's status as KubeFed does, and tells whether it changed:
// observedGeneration; status.clusters sorted by name; and the Propagation condition, True
// with an empty reason when every listed cluster is fine, else False with the whole object's
// reason or CheckClusters, with the input's message; and the summed replicas, when given.
// lastTransitionTime changes when the status or reason does, and lastUpdateTime also when the
// message or status.clusters changes or a member object was written. Nothing changes,
// timestamps included, when the outcome is the same.
func SetStatus(status *typesv1beta1.FederatedStatus, in StatusInput) bool {
	clusters := append([]typesv1beta1.ClusterStatus(nil), in.Clusters...)
	sort.Slice(clusters, func(i, j int) bool { return clusters[i].Name < clusters[j].Name })
	reason := in.Reason
	if reason == typesv1beta1.AggregateSuccess {
		for _, c := range clusters {
			if c.Status != typesv1beta1.ClusterPropagationOK && c.Status != typesv1beta1.SourceObject {
				reason = typesv1beta1.CheckClusters
				break
			}
		}
	}
	changed := status.ObservedGeneration != in.Generation || !reflect.DeepEqual(status.Replicas, in.Replicas) ||
		!reflect.DeepEqual(status.ReadyReplicas, in.ReadyReplicas) || !reflect.DeepEqual(status.StaleReplicas, in.StaleReplicas)
	status.ObservedGeneration = in.Generation
	status.Replicas, status.ReadyReplicas, status.StaleReplicas = in.Replicas, in.ReadyReplicas, in.StaleReplicas

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
	messageChanged := cond.Message != in.Message
	cond.Message = in.Message
	if transition || messageChanged || clustersChanged || in.Written {
		cond.LastUpdateTime = in.Now
	}
	return changed || transition || messageChanged || clustersChanged || in.Written
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

// recordStatus is the one status write of a reconcile, deferred by Reconcile: it writes the
// outcome in the scope when it changed, and adds the write's failure to the reconcile's (a
// race with another write only brings the object back shortly).
func (r *SyncReconciler) recordStatus(ctx context.Context, s *scope, result reconcile.Result, err error) (reconcile.Result, error) {
	in, ok := r.statusInput(s)
	if !ok {
		return result, err
	}
	return conflict.Join(ctx, "write the status", result, err, r.writeStatus(ctx, s, in))
}

// statusInput is the status that the reconcile's outcome gives; ok is false when there is no
// status to write: a read of the host failed and is only retried, a member has not answered
// yet (the status is only ever written whole), or the object is about to go. A phase that
// failed before the clusters were synced leaves them as the status last gave them. The
// message ends with why clusters' objects could not be rendered, and their render warnings.
func (r *SyncReconciler) statusInput(s *scope) (in StatusInput, ok bool) {
	in = StatusInput{Generation: s.fed.GetGeneration(), Reason: s.overall.reason, Message: s.overall.message, Now: r.now().UTC().Format(time.RFC3339)}
	if s.synced {
		in.Message = joinMessages(s.overall.message, denialMessage(s.results))
	}
	switch {
	case !s.synced && s.overall.reason == "":
		return StatusInput{}, false
	case !s.synced:
		in.Clusters, in.Replicas, in.ReadyReplicas, in.StaleReplicas = s.status.Clusters, s.status.Replicas, s.status.ReadyReplicas, s.status.StaleReplicas
		return in, true
	case !s.complete || s.gone:
		return StatusInput{}, false
	}
	for _, res := range s.results {
		in.Written = in.Written || res.written
		in.Replicas = addReplicas(in.Replicas, res.replicas)
		in.ReadyReplicas = addReplicas(in.ReadyReplicas, res.ready)
		in.StaleReplicas = addReplicas(in.StaleReplicas, res.stale)
		if !res.decision.Listed {
			continue
		}
		in.Clusters = append(in.Clusters, typesv1beta1.ClusterStatus{Name: res.name, Status: res.status, RemoteStatus: res.remoteStatus})
	}
	in.Message = joinMessages(in.Message, renderFailuresMessage(s.results), warningsMessage(s.results))
	return in, true
}

// addReplicas adds one cluster's replicas to a sum; a sum stays nil until a cluster counts.
func addReplicas(sum, n *int64) *int64 {
	if n == nil {
		return sum
	}
	return ptr.To(ptr.Deref(sum, 0) + *n)
}

// writeStatus writes the federated object's status when it changed.
func (r *SyncReconciler) writeStatus(ctx context.Context, s *scope, in StatusInput) error {
	status := *s.status.DeepCopy()
	if !SetStatus(&status, in) {
		return nil
	}
	body, err := statusPatch(status)
	if err != nil {
		return err
	}
	obj := s.fed.DeepCopy()
	if err := r.Client.Status().Patch(ctx, obj, client.RawPatch(types.MergePatchType, body)); err != nil {
		return client.IgnoreNotFound(err)
	}
	s.status = status
	return nil
}

// statusPatch is the merge patch that sets the whole status: a field the status leaves out
// (no clusters listed, no replicas) is removed with an explicit null, which a merge patch
// needs to drop what the object had.
func statusPatch(status typesv1beta1.FederatedStatus) ([]byte, error) {
	b, err := json.Marshal(status)
	if err != nil {
		return nil, err
	}
	fields := map[string]any{}
	if err := json.Unmarshal(b, &fields); err != nil {
		return nil, err
	}
	for _, f := range []string{"observedGeneration", "conditions", "clusters", "replicas", "readyReplicas", "staleReplicas"} {
		if _, ok := fields[f]; !ok {
			fields[f] = nil
		}
	}
	return json.Marshal(map[string]any{"status": fields})
}
