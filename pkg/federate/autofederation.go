package federate

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic/dynamicinformer"
	toolscache "k8s.io/client-go/tools/cache"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/fedplane/fedplane/api/contract"
	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	"github.com/fedplane/fedplane/pkg/autofederate"
)

// autoFederateWorkers is the number of workers of a type's auto-federation controller: its
// work is one or two host writes per change of a labelled object.
const autoFederateWorkers = 2

// ReasonAutoFederationFailed is the reason of the event on a FederatedTypeConfig whose
// auto-federation stopped or could not start (its host objects cannot be listed).
const ReasonAutoFederationFailed = "AutoFederationFailed"

// autoFederates tells whether fed-controller auto-federates the type.
func (r *TypeConfigReconciler) autoFederates(name string) bool {
	return r.Dynamic != nil && r.AutoFederate[name]
}

// startAutoFederation starts the auto-federation of the type name, of the running spec, when
// fed-controller auto-federates it, and returns a func that waits until it has stopped, once
// ctx ends.
func (r *TypeConfigReconciler) startAutoFederation(ctx context.Context, name string, spec corev1beta1.FederatedTypeConfigSpec, cacheSyncTimeout time.Duration) (wait func()) {
	if !r.autoFederates(name) {
		return func() {}
	}
	ftc := &corev1beta1.FederatedTypeConfig{Spec: *spec.DeepCopy()}
	ftc.Name, ftc.Namespace = name, r.Namespace
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.runAutoFederation(ctx, ftc, cacheSyncTimeout)
	}()
	return func() { <-done }
}

// runAutoFederation runs the type's auto-federation controller (see autofederate.Reconciler)
// until ctx, the type's, ends. One that fails (its host objects cannot be listed, as when the
// controller's identity may not watch them) is reported in an event on the FederatedTypeConfig
// and started again after a backoff; the type's sync controller runs on meanwhile.
func (r *TypeConfigReconciler) runAutoFederation(ctx context.Context, ftc *corev1beta1.FederatedTypeConfig, cacheSyncTimeout time.Duration) {
	log := ctrl.LoggerFrom(ctx).WithValues("type", ftc.Name)
	for attempt := 1; ctx.Err() == nil; attempt++ {
		err := r.autoFederateOnce(ctx, ftc, cacheSyncTimeout)
		if ctx.Err() != nil {
			return
		}
		delay := retryDelay(attempt)
		log.Error(err, "the type's auto-federation is not running; it is started again after a backoff", "retryAfter", delay)
		r.event(ftc, corev1.EventTypeWarning, ReasonAutoFederationFailed, "AutoFederate",
			"Auto-federation of %s objects labelled %s=%s is not running, trying again in %s: %v", ftc.Spec.TargetType.Kind, contract.FederateLabel, contract.FederateLabelValue, delay, err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
	}
}

// autoFederateOnce runs the auto-federation controller until ctx ends or it fails. It watches
// the labelled host objects with an informer of its own (label selector fedplane.io/federate),
// and the federated objects from the manager's cache.
func (r *TypeConfigReconciler) autoFederateOnce(ctx context.Context, ftc *corev1beta1.FederatedTypeConfig, cacheSyncTimeout time.Duration) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	target := ftc.Spec.TargetType
	gvr := schema.GroupVersionResource{Group: target.Group, Version: target.Version, Resource: target.PluralName}
	inf := dynamicinformer.NewFilteredDynamicInformer(r.Dynamic, gvr, metav1.NamespaceAll, 0, toolscache.Indexers{},
		func(o *metav1.ListOptions) { o.LabelSelector = contract.FederateLabel }).Informer()
	rec := &autofederate.Reconciler{Client: r.Client, APIReader: r.APIReader, Labelled: inf.GetStore(), Recorder: r.Recorder, Type: ftc.DeepCopy()}
	c, err := newController("autofederate", ftc.Name, rec, autoFederateWorkers, cacheSyncTimeout)
	if err != nil {
		return err
	}
	fed := &unstructured.Unstructured{}
	fed.SetGroupVersionKind(schema.GroupVersionKind{Group: ftc.Spec.FederatedType.Group, Version: ftc.Spec.FederatedType.Version, Kind: ftc.Spec.FederatedType.Kind})
	// A federated object's change concerns the host object it was generated from, or a
	// labelled one that it is in the way of.
	toNative := func(_ context.Context, o client.Object) []reconcile.Request {
		key, ok := autofederate.NativeKey(target, o)
		if !ok {
			return nil
		}
		return []reconcile.Request{{NamespacedName: key}}
	}
	concerns := predicate.NewPredicateFuncs(func(o client.Object) bool {
		key, ok := autofederate.NativeKey(target, o)
		if !ok {
			return false
		}
		if ref := metav1.GetControllerOfNoCopy(o); ref != nil && ref.Kind == target.Kind && ref.Name == key.Name {
			return true
		}
		_, labelled, _ := inf.GetStore().GetByKey(toolscache.ObjectName{Namespace: key.Namespace, Name: key.Name}.String())
		return labelled
	})
	for _, s := range []source.Source{
		labelledSource{Informer: &source.Informer{Informer: inf, Handler: &handler.EnqueueRequestForObject{}}, synced: inf.HasSynced},
		hostKind(r.Cache, fed, handler.EnqueueRequestsFromMapFunc(toNative), concerns),
	} {
		if err := c.Watch(s); err != nil {
			return fmt.Errorf("failed to watch: %w", err)
		}
	}
	go inf.RunWithContext(ctx)
	ctrl.LoggerFrom(ctx).Info("started the type's auto-federation", "type", ftc.Name, "label", contract.FederateLabel)
	err = c.Start(ctx)
	if err == nil || ctx.Err() != nil {
		return nil
	}
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(schema.GroupVersionKind{Group: target.Group, Version: target.Version, Kind: target.Kind + "List"})
	listCtx, cancelList := context.WithTimeout(ctx, explainTimeout)
	defer cancelList()
	if lerr := r.APIReader.List(listCtx, list, client.Limit(1), client.HasLabels{contract.FederateLabel}); lerr != nil {
		return fmt.Errorf("listing %s fails: %w", target.PluralName, lerr)
	}
	return err
}

// labelledSource is a source of the labelled host objects that the controller waits for, as for
// its other sources, before any reconcile: until the informer has listed them, a federated object
// whose host object is not seen yet must not be taken for one whose label was removed.
type labelledSource struct {
	*source.Informer
	synced toolscache.InformerSynced
}

// WaitForSync waits until the informer has listed the labelled objects, or ctx ends.
func (s labelledSource) WaitForSync(ctx context.Context) error {
	if !toolscache.WaitForCacheSync(ctx.Done(), s.synced) {
		return fmt.Errorf("the labelled host objects were not listed: %w", ctx.Err())
	}
	return nil
}
