package federate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/klog/v2"

	"github.com/fedplane/fedplane/api/contract"
	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
	"github.com/fedplane/fedplane/pkg/cluster"
	"github.com/fedplane/fedplane/pkg/overrides"
	"github.com/fedplane/fedplane/pkg/placement"
	"github.com/fedplane/fedplane/pkg/render"
)

// The functions of this file decide the outcome in one cluster from what was read. They read
// nothing and write nothing.

// readResult is the cluster's outcome when its copy could not be read; stop tells that there
// is nothing more to do in the cluster now. A cluster whose copy is not known stays listed
// when it is selected or recorded (listed), and the object waits for it.
func readResult(res clusterResult, listed bool, read copyRead) (clusterResult, bool) {
	unknown := ClusterDecision{Listed: listed, Pending: true}
	switch {
	case read.busy:
		return busyResult(res, listed), true
	case errors.Is(read.err, errNotSynced) && read.justConnected:
		// Just connected: the listing brings the object back, and the status waits for it
		// rather than saying for a moment that the copy cannot be read.
		return busyResult(res, listed), true
	case errors.Is(read.err, errNotSynced):
		// Listing takes longer than a member request may: say so; the listing still brings
		// the object back once it completes.
		res.status, res.decision, res.retry = typesv1beta1.CachedRetrievalFailed, unknown, time.Second
		return res, true
	case read.err != nil:
		res.status, res.err, res.decision = typesv1beta1.CachedRetrievalFailed, read.err, unknown
		return res, true
	}
	return res, false
}

// busyResult is the cluster's outcome when no request could be sent to the member: it is
// tried again shortly, and the status waits for it.
func busyResult(res clusterResult, listed bool) clusterResult {
	res.busy, res.retry = true, time.Second
	res.decision = ClusterDecision{Listed: listed, Pending: true}
	return res
}

// decideCluster decides what to do in one cluster once its copy is read: it renders the
// object the cluster should have when the object is placed there, runs Decide, and gives the
// cluster's status, replicas, version and remote status, the render's warnings, and the events
// that the outcome asks for. It returns in with the rendered object, which Decide is given only
// when the cluster can be written to; for a type whose remote status is collected, a Ready
// cluster that cannot be written to now (not connected, or suspended after a timeout) is
// rendered too, so that its replicas count as desired.
func (r *SyncReconciler) decideCluster(s *scope, d placement.Decision, in ClusterInput, res clusterResult) (ClusterInput, clusterResult) {
	var rendered render.Result
	var renderErr error
	if d.Selected && !s.deleting && (in.Ready || d.Ready && r.Type.StatusCollection) {
		rendered, renderErr = r.render(s, d.Name, in.Existing)
	}
	if in.ExistingApplied && rendered.Object != nil && in.Existing.GetAnnotations()[contract.AppliedAnnotation] == rendered.Object.GetAnnotations()[contract.AppliedAnnotation] {
		// The slim cached copy still holds what was applied, which is what is to be applied.
		in.Existing = completeCopy(rendered.Object, in.Existing)
	}
	if in.Ready {
		in.Desired, res.warnings = rendered.Object, rendered.Warnings
		in.RenderFailed = renderErr != nil && overrides.IsOverrideFailure(renderErr)
	} else {
		// Nothing is written there now: a rendering that failed is told, in the status and
		// an event, once the cluster can be written to.
		renderErr = nil
	}
	res.decision = Decide(in)
	res.status = res.decision.Status
	if r.Type.StatusCollection {
		counts := countReplicas(in, d.Ready, rendered.Object, res.decision.Status)
		res.replicas, res.ready, res.stale = counts.desired, counts.ready, counts.stale
	}
	if in.Existing != nil && res.decision.Status == typesv1beta1.ClusterPropagationOK {
		res.version = ClusterVersion(in.Existing)
		res.remoteStatus = r.remoteStatus(s, in.Existing)
	}
	if renderErr != nil && renderFailure(res.status) {
		res.renderFailure = renderErr.Error()
		// The event tells the cluster's status, not the error's kind: the two never disagree.
		res.events = append(res.events, objectEvent{kind: corev1.EventTypeWarning, reason: string(res.status), action: "Render",
			message: fmt.Sprintf("Failed to render %s %s for cluster %s: %v", r.Type.Target.Kind, klog.KObj(s.fed), d.Name, renderErr)})
	}
	if res.decision.Status == typesv1beta1.ManagedForAnotherCluster && s.previousStatus(d.Name) != res.decision.Status {
		res.events = append(res.events, objectEvent{kind: corev1.EventTypeWarning, reason: string(typesv1beta1.ManagedForAnotherCluster), action: "Fence",
			message: fmt.Sprintf("%s %s in cluster %s was written for KubeFedCluster %s; it is left alone: two registrations reach one cluster",
				r.Type.Target.Kind, klog.KObj(in.Existing), d.Name, in.Existing.GetAnnotations()[contract.ClusterAnnotation])})
	}
	return in, res
}

// renderFailure tells whether a cluster's status says that its object could not be rendered:
// a copy that Decide leaves alone for another reason (labelled managed=false, fenced) is not
// reported as a render failure, since nothing would be written there anyway.
func renderFailure(status typesv1beta1.PropagationStatus) bool {
	return status == typesv1beta1.ComputeResourceFailed || status == typesv1beta1.ApplyOverridesFailed
}

// writeResult is the cluster's outcome after the write of its decision: written, tried again
// shortly after a conflict (the member object changed since it was read), or failed, with the
// status and the event that say so. obj is the member object written, if any.
func (r *SyncReconciler) writeResult(s *scope, res clusterResult, obj *unstructured.Unstructured, err error) clusterResult {
	action := res.decision.Action
	res.events = nil
	switch {
	case apierrors.IsConflict(err):
		res.retry = time.Second
	case err != nil:
		res.err, res.status = err, failureStatus(action, err)
		if action == ActionCreate && apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
			// Retrying cannot help until the member's namespace changes, which brings the
			// object back (see cluster.NamespaceSource); the long requeue is for a namespace
			// that this control plane does not manage, whose changes it does not see.
			res.err, res.retry = nil, terminatingNamespaceRecheck
		}
		if _, denied := cluster.Denied(err); denied {
			// A denial is told once, when it is new to the object (see recordDenials).
			break
		}
		res.events = []objectEvent{{kind: corev1.EventTypeWarning, reason: string(action) + "InClusterFailed", action: string(action),
			message: fmt.Sprintf("Failed to %s %s %s in cluster %s: %v", strings.ToLower(string(action)), r.Type.Target.Kind, klog.KObj(s.fed), res.name, err)}}
	default:
		res.written = true
		if obj != nil {
			res.version = ClusterVersion(obj)
			res.remoteStatus = r.remoteStatus(s, obj)
		}
	}
	return res
}

// failureStatus is the cluster's status after a failed write.
func failureStatus(action Action, err error) typesv1beta1.PropagationStatus {
	timedOut := isTimeout(err)
	switch action {
	case ActionCreate:
		if timedOut {
			return typesv1beta1.CreationTimedOut
		}
		return typesv1beta1.CreationFailed
	case ActionUpdate:
		if timedOut {
			return typesv1beta1.UpdateTimedOut
		}
		return typesv1beta1.UpdateFailed
	case ActionDelete:
		if timedOut {
			return typesv1beta1.DeletionTimedOut
		}
		return typesv1beta1.DeletionFailed
	default:
		if timedOut {
			return typesv1beta1.LabelRemovalTimedOut
		}
		return typesv1beta1.LabelRemovalFailed
	}
}

func isTimeout(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || apierrors.IsTimeout(err) || apierrors.IsServerTimeout(err)
}

// replicaCounts is what one cluster adds to the replica counts of a scalable workload whose
// remote status is collected.
type replicaCounts struct {
	// desired and ready are, for a selected Ready cluster, the spec.replicas of the object
	// rendered for it and the ready replicas that its copy reports; nil otherwise.
	desired, ready *int64
	// stale is, for a cluster that is not Ready, the spec.replicas that its copy still holds;
	// nil when it holds no copy that this control plane manages there.
	stale *int64
}

// countReplicas counts one cluster's replicas: the replicas that placement and overrides ask
// a selected Ready cluster to run now (rendered), never those of a copy that nothing was
// rendered for; and apart from them, the replicas of a managed copy in a cluster that is not
// Ready (ready is the registration's readiness), which cannot be changed or removed until the
// cluster is back. status is the cluster's decided status: a copy that is fenced off or
// labelled managed=false is not this object's.
func countReplicas(in ClusterInput, ready bool, rendered *unstructured.Unstructured, status typesv1beta1.PropagationStatus) replicaCounts {
	if !ready {
		if in.Existing == nil || in.Existing.GetLabels()[contract.ManagedLabel] != "true" || status != typesv1beta1.ClusterNotReady {
			return replicaCounts{}
		}
		n, found, err := unstructured.NestedInt64(in.Existing.Object, "spec", "replicas")
		if !found || err != nil {
			return replicaCounts{}
		}
		return replicaCounts{stale: &n}
	}
	if !in.Selected || in.Deleting || rendered == nil {
		return replicaCounts{}
	}
	d, found, err := unstructured.NestedInt64(rendered.Object, "spec", "replicas")
	if !found || err != nil {
		return replicaCounts{}
	}
	var rd int64
	if in.Existing != nil {
		rd, _, _ = unstructured.NestedInt64(in.Existing.Object, "status", "readyReplicas")
	}
	return replicaCounts{desired: &d, ready: &rd}
}

// remoteStatus is the member object's status, for types that collect it while the
// RawResourceStatusCollection gate is Enabled.
func (r *SyncReconciler) remoteStatus(s *scope, obj *unstructured.Unstructured) *typesv1beta1.Raw {
	if !r.Type.StatusCollection || !s.rawStatus {
		return nil
	}
	st, ok := obj.Object["status"].(map[string]any)
	if !ok || len(st) == 0 {
		return nil
	}
	raw, err := typesv1beta1.NewRaw(st)
	if err != nil {
		return nil
	}
	return &raw
}
