package federate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/fedplane/fedplane/api/contract"
)

// write carries out the decision in one cluster, when there is one to carry out, and records
// what came of it. exists tells that the decision was a create and the member already held
// the object; that outcome is not recorded, as the copy is to be read and decided on again
// (once: a second such answer is a failure, tried again later).
func (r *SyncReconciler) write(ctx context.Context, c *clusterSync, res clusterResult) (_ clusterResult, exists bool) {
	action := res.decision.Action
	if action == ActionNone || !c.in.Ready {
		// Decide never acts in a cluster that is not Ready; the second test is a second lock
		// on that door.
		return res, false
	}
	if !r.reserve(c) {
		return busyResult(res, c.listed()), false
	}
	cctx, cancel := context.WithTimeout(ctx, r.timeout())
	defer cancel()
	writing := time.Now()
	obj, err := r.act(cctx, c.s, c.d.Name, action, c.in)
	r.Metrics.dispatched(action, time.Since(writing))
	r.Metrics.countWrite(c.d.Name, r.Type.Name, action, err)
	if action == ActionCreate && apierrors.IsAlreadyExists(err) && !c.reread {
		r.Members.ReportSuccess(c.d.Name)
		return res, true
	}
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
	return res, false
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
	case ActionCreate:
		// A create, not an apply: it fails with AlreadyExists when the member holds a copy
		// that its cache does not (one not managed, or one made a moment ago), so that no
		// copy is read before it is made and none is written over (see syncCluster).
		obj := in.Desired.DeepCopy()
		if err := cl.Create(ctx, obj, client.FieldOwner(contract.FieldOwner)); err != nil {
			return nil, err
		}
		return obj, nil
	case ActionUpdate:
		// The write succeeds only if the object is still the one whose fencing was checked.
		version, err := ownCreatedFields(ctx, cl, in.Existing)
		if err != nil {
			return nil, err
		}
		obj := in.Desired.DeepCopy()
		obj.SetResourceVersion(version)
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

// ownCreatedFields makes this control plane's fields of a copy it created its applied fields,
// and returns the version of the copy to apply to. A create leaves the fields it wrote to an
// "Update" entry of contract.FieldOwner in the copy's managed fields, and an apply never
// removes a field that such an entry still holds: a field dropped from the template would stay
// in the copy. Before the first apply to such a copy the entry is made an "Apply" entry, with
// a JSON patch that holds only for the version of the copy that was read (and fenced), which
// changes nothing else. A copy whose entries are already applied ones is left as it is.
func ownCreatedFields(ctx context.Context, cl client.Client, existing *unstructured.Unstructured) (string, error) {
	version := existing.GetResourceVersion()
	index := createdFieldsEntry(existing)
	if index < 0 {
		return version, nil
	}
	entry := fmt.Sprintf("/metadata/managedFields/%d", index)
	patch, err := json.Marshal([]map[string]string{
		{"op": "test", "path": "/metadata/resourceVersion", "value": version},
		{"op": "test", "path": entry + "/manager", "value": contract.FieldOwner},
		{"op": "test", "path": entry + "/operation", "value": string(metav1.ManagedFieldsOperationUpdate)},
		{"op": "replace", "path": entry + "/operation", "value": string(metav1.ManagedFieldsOperationApply)},
	})
	if err != nil {
		return "", err
	}
	obj := &unstructured.Unstructured{}
	obj.SetGroupVersionKind(existing.GroupVersionKind())
	obj.SetNamespace(existing.GetNamespace())
	obj.SetName(existing.GetName())
	if err := cl.Patch(ctx, obj, client.RawPatch(types.JSONPatchType, patch), client.FieldOwner(contract.FieldOwner)); err != nil {
		if apierrors.IsInvalid(err) {
			// A failed test: the copy changed since it was read, as a stale version does.
			return "", apierrors.NewConflict(schema.GroupResource{}, existing.GetName(), err)
		}
		return "", err
	}
	return obj.GetResourceVersion(), nil
}

// createdFieldsEntry is the index of the managed-fields entry that a create by this control
// plane left in obj, or -1 when there is none to turn into an applied one: none, or one beside
// an applied entry of this control plane, which cannot be merged into it without its fields.
func createdFieldsEntry(obj *unstructured.Unstructured) int {
	index := -1
	for i, e := range obj.GetManagedFields() {
		if e.Manager != contract.FieldOwner || e.Subresource != "" {
			continue
		}
		switch e.Operation {
		case metav1.ManagedFieldsOperationApply:
			return -1
		case metav1.ManagedFieldsOperationUpdate:
			index = i
		}
	}
	return index
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
