package rsp

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	schedulingv1alpha1 "github.com/fedplane/fedplane/api/scheduling/v1alpha1"
	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
	"github.com/fedplane/fedplane/pkg/cluster"
)

// SetupWithManager runs the controller in mgr. It plans a preference again when the
// preference's spec, its target's spec, a cluster's readiness or labels, the KubeFedConfig's
// spec (its SchedulerPreferences feature gate), its namespace's
// FederatedNamespace, or the workload in a member changes. Target kinds that the host does
// not serve are not watched.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	all := func(ctx context.Context, _ client.Object) []reconcile.Request { return r.list(ctx, "") }
	inNamespace := func(ctx context.Context, o client.Object) []reconcile.Request { return r.list(ctx, o.GetNamespace()) }
	b := ctrl.NewControllerManagedBy(mgr).
		Named("replicaschedulingpreference").
		For(&schedulingv1alpha1.ReplicaSchedulingPreference{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&corev1beta1.KubeFedCluster{}, cluster.EnqueueAllOnChange(r.Client, r.Namespace, func(ctx context.Context) []reconcile.Request { return r.list(ctx, "") }),
			builder.WithPredicates(cluster.PlacementChanged())).
		Watches(&corev1beta1.KubeFedConfig{}, handler.EnqueueRequestsFromMapFunc(all), builder.WithPredicates(r.inNamespace(), predicate.GenerationChangedPredicate{}))
	served := func(o *unstructured.Unstructured) bool {
		_, err := mgr.GetRESTMapper().RESTMapping(o.GroupVersionKind().GroupKind(), o.GroupVersionKind().Version)
		if meta.IsNoMatchError(err) {
			mgr.GetLogger().Info("not watched: the host does not serve the kind", "kind", o.GetKind())
			return false
		}
		return true
	}
	fns := &unstructured.Unstructured{}
	fns.SetGroupVersionKind(typesv1beta1.FederatedNamespaceGVK)
	if served(fns) {
		b = b.Watches(fns, handler.EnqueueRequestsFromMapFunc(inNamespace), builder.WithPredicates(specChanged()))
	}
	sameKey := func(o *unstructured.Unstructured) types.NamespacedName {
		return types.NamespacedName{Namespace: o.GetNamespace(), Name: o.GetName()}
	}
	allRequests := func(ctx context.Context) []reconcile.Request { return r.list(ctx, "") }
	for _, kind := range []string{"FederatedDeployment", "FederatedReplicaSet"} {
		t := Targets[kind]
		fed := &unstructured.Unstructured{}
		fed.SetGroupVersionKind(t.Federated)
		if served(fed) {
			b = b.Watches(fed, &handler.EnqueueRequestForObject{}, builder.WithPredicates(specChanged()))
		}
		b = b.WatchesRawSource(cluster.Source(r.Members, t.Member, sameKey, allRequests))
	}
	if err := b.Complete(r); err != nil {
		return fmt.Errorf("failed to set up the ReplicaSchedulingPreference controller: %w", err)
	}
	return nil
}

// inNamespace lets through the objects of the control plane's namespace.
func (r *Reconciler) inNamespace() predicate.Predicate {
	return predicate.NewPredicateFuncs(func(o client.Object) bool { return o.GetNamespace() == r.Namespace })
}

// list returns a request for every preference, in one namespace or all.
func (r *Reconciler) list(ctx context.Context, namespace string) []reconcile.Request {
	list := &schedulingv1alpha1.ReplicaSchedulingPreferenceList{}
	if err := r.Client.List(ctx, list, client.InNamespace(namespace)); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "failed to list ReplicaSchedulingPreferences")
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(list.Items))
	for _, p := range list.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: p.Namespace, Name: p.Name}})
	}
	return reqs
}

// specChanged lets through creations, deletions and changes of the spec or of the deletion
// state, and drops status-only updates.
func specChanged() predicate.Predicate {
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		o, n := e.ObjectOld, e.ObjectNew
		return o.GetGeneration() != n.GetGeneration() || (o.GetDeletionTimestamp() == nil) != (n.GetDeletionTimestamp() == nil)
	}}
}
