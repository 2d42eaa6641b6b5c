package federate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// stray is a member object labelled as managed whose federated object does not exist.
type stray struct {
	cluster string
	cl      client.Client
	obj     *unstructured.Unstructured
}

// releaseStrays handles a federated object that does not exist: a member object of its name
// still labelled kubefed.io/managed=true (created so by hand, or left by a control plane that
// was stopped) loses the label and this control plane's annotations, as KubeFed does, in
// every Ready member where this control plane may own it. Decide chooses as for a federated
// object deleted with kubefed.io/orphan, so that an object of another control plane, or one
// written for another registration, is never touched. Before any write, the host itself (not
// its cache) must say that the federated object is gone.
func (r *SyncReconciler) releaseStrays(ctx context.Context, key types.NamespacedName) (reconcile.Result, error) {
	fed := &unstructured.Unstructured{}
	fed.SetGroupVersionKind(r.Type.Federated)
	fed.SetNamespace(key.Namespace)
	fed.SetName(key.Name)
	strays, errs := r.findStrays(ctx, fed)
	if len(strays) == 0 {
		return reconcile.Result{}, errors.Join(errs...)
	}
	ready, err := r.readyClusters(ctx)
	if err != nil {
		return reconcile.Result{}, err
	}
	switch err := r.APIReader.Get(ctx, key, fed.DeepCopy()); {
	case err == nil:
		// The cache is behind: the federated object exists, and its own reconcile follows.
		return reconcile.Result{}, errors.Join(errs...)
	case !apierrors.IsNotFound(err):
		return reconcile.Result{}, fmt.Errorf("failed to confirm that the %s is gone: %w", r.Type.Federated.Kind, err)
	}
	result, errs := r.orphanStrays(ctx, key, strays, ready, errs)
	if len(errs) > 0 {
		return reconcile.Result{}, errors.Join(errs...)
	}
	return result, nil
}

// findStrays reads, from the caches of the connected members that are not suspended, the
// copies of fed that Decide would orphan.
func (r *SyncReconciler) findStrays(ctx context.Context, fed *unstructured.Unstructured) ([]stray, []error) {
	var strays []stray
	var errs []error
	for _, name := range r.Members.Connected() {
		cl, ok := r.Members.Client(name)
		if !ok || r.Members.Suspended(name) > 0 {
			continue
		}
		// The member's cache holds managed objects only, and answers without asking it.
		obj, err := r.cachedCopy(ctx, &scope{fed: fed}, name)
		switch {
		case errors.Is(err, errNotSynced):
			// The listing brings every object of the kind back once it completes.
			continue
		case err != nil:
			errs = append(errs, fmt.Errorf("cluster %s: failed to read the member object: %w", name, err))
			continue
		case obj == nil || obj.GetDeletionTimestamp() != nil:
			continue
		}
		in := ClusterInput{Ready: true, Deleting: true, Orphan: true, ControlPlaneID: r.ControlPlaneID, ClusterName: name, Existing: obj}
		if Decide(in).Action == ActionOrphan {
			strays = append(strays, stray{cluster: name, cl: cl, obj: obj})
		}
	}
	return strays, errs
}

// orphanStrays removes the managed label from the strays in Ready members.
func (r *SyncReconciler) orphanStrays(ctx context.Context, key types.NamespacedName, strays []stray, ready map[string]bool, errs []error) (reconcile.Result, []error) {
	var result reconcile.Result
	for _, st := range strays {
		if !ready[st.cluster] {
			continue
		}
		end, _ := r.Members.Begin(st.cluster, r.Type.Name+"/"+key.String())
		if end == nil {
			// The member has no room now, or a request about the object is outstanding.
			result.RequeueAfter = time.Second
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, r.timeout())
		err := r.orphanCopy(cctx, st.cl, st.obj)
		cancel()
		end()
		r.Metrics.countWrite(st.cluster, r.Type.Name, ActionOrphan, err)
		switch {
		case apierrors.IsConflict(err):
			result.RequeueAfter = time.Second
		case err != nil:
			errs = append(errs, fmt.Errorf("cluster %s: failed to remove the managed label from %s %s: %w", st.cluster, r.Type.Target.Kind, klog.KObj(st.obj), err))
		default:
			ctrl.LoggerFrom(ctx).Info("removed the managed label from a member object whose federated object does not exist",
				"cluster", st.cluster, strings.ToLower(r.Type.Target.Kind), klog.KObj(st.obj))
		}
	}
	return result, errs
}
