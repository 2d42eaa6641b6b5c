package federate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/fedplane/fedplane/api/contract"
)

// write carries out the decision in one cluster, when there is one to carry out, and records
// what came of it.
func (r *SyncReconciler) write(ctx context.Context, c *clusterSync, res clusterResult) clusterResult {
	action := res.decision.Action
	if action == ActionNone || !c.in.Ready {
		// Decide never acts in a cluster that is not Ready; the second test is a second lock
		// on that door.
		return res
	}
	if !r.reserve(c) {
		return busyResult(res, c.listed())
	}
	cctx, cancel := context.WithTimeout(ctx, r.timeout())
	defer cancel()
	writing := time.Now()
	obj, err := r.act(cctx, c.s, c.d.Name, action, c.in)
	r.Metrics.dispatched(action, time.Since(writing))
	r.Metrics.countWrite(c.d.Name, r.Type.Name, action, err)
	switch {
	case err != nil:
		r.Applied.forget(c.key())
	case action == ActionCreate || action == ActionUpdate:
		if Matches(c.in.Desired, obj) {
			r.Applied.record(c.key(), obj)
		}
	default:
		r.Applied.forget(c.key())
	}
	res = r.writeResult(c.s, res, obj, err)
	r.emit(c.s, res.events)
	r.wrote(ctx, c, action, err)
	return res
}

// wrote tells the member cache and the contention tracker how a write to the member went.
func (r *SyncReconciler) wrote(ctx context.Context, c *clusterSync, action Action, err error) {
	name := c.d.Name
	switch {
	case apierrors.IsConflict(err):
	case err != nil:
		if isTimeout(err) {
			r.Members.ReportTimeout(name)
		}
	default:
		r.Members.ReportSuccess(name)
		if action == ActionCreate || action == ActionUpdate {
			r.Contention.Applied(ContentionKey{Object: client.ObjectKeyFromObject(c.s.fed), Cluster: name}, freshApply(c.in.Desired, c.in.Existing))
		}
		ctrl.LoggerFrom(ctx).V(1).Info("wrote the member object", "action", action)
	}
}

// act carries out a decision in one cluster and returns the member object written, if any.
func (r *SyncReconciler) act(ctx context.Context, s *scope, name string, action Action, in ClusterInput) (*unstructured.Unstructured, error) {
	cl, ok := r.Members.Client(name)
	if !ok {
		return nil, errors.New("the cluster is not connected")
	}
	switch action {
	case ActionCreate, ActionUpdate:
		obj := in.Desired.DeepCopy()
		if action == ActionUpdate {
			// The write succeeds only if the object is still the one whose fencing was checked.
			obj.SetResourceVersion(in.Existing.GetResourceVersion())
		}
		if err := cl.Apply(ctx, client.ApplyConfigurationFromUnstructured(obj), client.FieldOwner(contract.FieldOwner), client.ForceOwnership); err != nil {
			return nil, err
		}
		return obj, nil
	case ActionDelete:
		if r.Type.isNamespace() {
			host, err := r.isHostNamespace(ctx, in.Existing)
			if err != nil {
				return nil, err
			}
			if host {
				// The host's own namespace holds the federation objects: it is only unlabelled.
				return nil, r.orphanCopy(ctx, cl, in.Existing)
			}
		}
		opts, err := memberDeleteOptions(s.fed, in.Existing)
		if err != nil {
			return nil, err
		}
		err = cl.Delete(ctx, in.Existing, opts)
		if apierrors.IsConflict(err) && userPreconditions(s.fed) {
			// The annotation's own preconditions do not hold for the copy: reading it again
			// cannot help, so the failure is reported rather than retried as a stale read.
			return nil, fmt.Errorf("the preconditions of annotation %s do not hold for the member object: %s", contract.DeleteOptionAnnotation, err.Error())
		}
		return nil, client.IgnoreNotFound(err)
	case ActionOrphan:
		return nil, r.orphanCopy(ctx, cl, in.Existing)
	}
	return nil, fmt.Errorf("unknown action %q", action)
}

// orphanCopy removes the managed label and this control plane's annotations. The patch
// applies only to the version of the object that was read (and fenced): a changed object
// gives a conflict, and is read again.
func (r *SyncReconciler) orphanCopy(ctx context.Context, cl client.Client, obj *unstructured.Unstructured) error {
	meta := map[string]any{
		"labels":      map[string]any{contract.ManagedLabel: nil},
		"annotations": map[string]any{contract.ControlPlaneAnnotation: nil, contract.ClusterAnnotation: nil, contract.AppliedAnnotation: nil},
	}
	if rv := obj.GetResourceVersion(); rv != "" {
		meta["resourceVersion"] = rv
	}
	patch, err := json.Marshal(map[string]any{"metadata": meta})
	if err != nil {
		return err
	}
	return client.IgnoreNotFound(cl.Patch(ctx, obj.DeepCopy(), client.RawPatch(types.MergePatchType, patch), client.FieldOwner(contract.FieldOwner)))
}
