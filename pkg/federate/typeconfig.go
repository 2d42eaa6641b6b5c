package federate

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"time"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	"github.com/fedplane/fedplane/pkg/cluster"
)

// DefaultSyncWorkers is the number of objects of one type reconciled at once when the
// KubeFedConfig does not say.
const DefaultSyncWorkers = 16

// maxRetryDelay is the longest wait before a failed object is tried again.
const maxRetryDelay = time.Minute

// notRunningRecheck is how soon a type whose kinds are not served yet is looked at again.
const notRunningRecheck = 10 * time.Second

// TypeConfigReconciler starts one sync controller per FederatedTypeConfig whose propagation
// is Enabled, and stops it when the type is disabled or its config deleted, with no restart
// of the process. It reports status.propagationController Running or NotRunning. It is also
// a manager runnable: the sync controllers live as long as it does, which is while this
// replica leads.
type TypeConfigReconciler struct {
	// Client reads the host from the manager's cache and writes it.
	Client client.Client
	// APIReader reads the host directly.
	APIReader client.Reader
	// Cache is the manager's cache, from which the sync controllers watch the host.
	Cache cache.Cache
	// Mapper tells whether the federated and target kinds are served.
	Mapper meta.RESTMapper
	// Members gives the member clusters' clients and caches.
	Members *cluster.Cache
	// Recorder records events on the federated objects.
	Recorder events.EventRecorder
	// Namespace is the control plane's namespace.
	Namespace string
	// ControlPlaneID identifies this control plane on the member objects it manages.
	ControlPlaneID string
	// MemberTimeout bounds each request to a member; DefaultMemberTimeout when zero.
	MemberTimeout time.Duration
	// Metrics counts the writes to members; nil counts nothing.
	Metrics *Metrics
	// MemberWait bounds how long a sync worker waits for one member's answer;
	// DefaultMemberWait when zero.
	MemberWait time.Duration

	mu      sync.Mutex
	ctx     context.Context
	started chan struct{}
	running map[string]*runningType
}

type runningType struct {
	spec   corev1beta1.FederatedTypeConfigSpec
	cancel context.CancelFunc
	done   chan struct{}
}

// SetupWithManager registers the reconciler and its runnable.
func (r *TypeConfigReconciler) SetupWithManager(mgr ctrl.Manager) error {
	r.started = make(chan struct{})
	r.running = map[string]*runningType{}
	if err := mgr.Add(r); err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("federatedtypeconfig").
		For(&corev1beta1.FederatedTypeConfig{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Complete(r)
}

// Start keeps the sync controllers' context until the manager stops, then stops them all.
func (r *TypeConfigReconciler) Start(ctx context.Context) error {
	r.mu.Lock()
	r.ctx = ctx
	close(r.started)
	r.mu.Unlock()
	<-ctx.Done()
	r.mu.Lock()
	defer r.mu.Unlock()
	for name, rt := range r.running {
		rt.cancel()
		<-rt.done
		delete(r.running, name)
	}
	return nil
}

// Reconcile starts, restarts or stops the sync controller of one FederatedTypeConfig.
func (r *TypeConfigReconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	select {
	case <-r.started:
	case <-ctx.Done():
		return reconcile.Result{}, ctx.Err()
	}
	ftc := &corev1beta1.FederatedTypeConfig{}
	if err := r.Client.Get(ctx, req.NamespacedName, ftc); err != nil {
		if apierrors.IsNotFound(err) {
			r.stop(ctx, req.Name)
			return reconcile.Result{}, nil
		}
		return reconcile.Result{}, err
	}
	if ftc.DeletionTimestamp != nil || ftc.Spec.Propagation != corev1beta1.PropagationEnabled {
		r.stop(ctx, ftc.Name)
		return reconcile.Result{}, r.setStatus(ctx, ftc, corev1beta1.ControllerStatusNotRunning)
	}
	if err := r.ensure(ctx, ftc); err != nil {
		ctrl.LoggerFrom(ctx).Info("the type's sync controller is not running", "reason", err.Error())
		if serr := r.setStatus(ctx, ftc, corev1beta1.ControllerStatusNotRunning); serr != nil {
			return reconcile.Result{}, serr
		}
		return reconcile.Result{RequeueAfter: notRunningRecheck}, nil
	}
	return reconcile.Result{}, r.setStatus(ctx, ftc, corev1beta1.ControllerStatusRunning)
}

// setStatus writes the FederatedTypeConfig's status when it changed.
func (r *TypeConfigReconciler) setStatus(ctx context.Context, ftc *corev1beta1.FederatedTypeConfig, status corev1beta1.ControllerStatus) error {
	want := corev1beta1.FederatedTypeConfigStatus{ObservedGeneration: ftc.Generation, PropagationController: status}
	if TypeFromConfig(ftc).StatusCollection {
		want.StatusController = ptr.To(status)
	}
	if reflect.DeepEqual(ftc.Status, want) {
		return nil
	}
	patch := client.MergeFrom(ftc.DeepCopy())
	ftc.Status = want
	if err := r.Client.Status().Patch(ctx, ftc, patch); err != nil {
		return fmt.Errorf("failed to write the status of FederatedTypeConfig %s: %w", ftc.Name, err)
	}
	return nil
}

// stop stops a type's sync controller, if it runs, and drops its informer.
func (r *TypeConfigReconciler) stop(ctx context.Context, name string) {
	r.mu.Lock()
	rt, ok := r.running[name]
	delete(r.running, name)
	r.mu.Unlock()
	if !ok {
		return
	}
	rt.cancel()
	<-rt.done
	fed := &unstructured.Unstructured{}
	fed.SetGroupVersionKind(TypeFromConfig(&corev1beta1.FederatedTypeConfig{Spec: rt.spec}).Federated)
	if err := r.Cache.RemoveInformer(ctx, fed); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "failed to drop the informer of a stopped type")
	}
	ctrl.LoggerFrom(ctx).Info("stopped the type's sync controller")
}

// ensure makes sure the type's sync controller runs with the config's current spec.
func (r *TypeConfigReconciler) ensure(ctx context.Context, ftc *corev1beta1.FederatedTypeConfig) error {
	r.mu.Lock()
	rt, ok := r.running[ftc.Name]
	r.mu.Unlock()
	if ok && reflect.DeepEqual(rt.spec, ftc.Spec) {
		return nil
	}
	if ok {
		r.stop(ctx, ftc.Name)
	}
	t := TypeFromConfig(ftc)
	for _, gvk := range []struct{ what, group, version, kind string }{
		{"federated type", t.Federated.Group, t.Federated.Version, t.Federated.Kind},
		{"target type", t.Target.Group, t.Target.Version, t.Target.Kind},
	} {
		if _, err := r.Mapper.RESTMapping(schema.GroupKind{Group: gvk.group, Kind: gvk.kind}, gvk.version); err != nil {
			return fmt.Errorf("the %s %s is not served: %w", gvk.what, gvk.kind, err)
		}
	}
	workers, err := r.workers(ctx)
	if err != nil {
		return err
	}
	// Members are read and written with the mapping the config gives, never with their
	// discovery.
	r.Members.AddKind(t.Target, t.Resource, t.Namespaced)
	requeue := make(chan event.GenericEvent, 1024)
	reconciler := &SyncReconciler{
		Client: r.Client, APIReader: r.APIReader, Members: r.Members, Recorder: r.Recorder,
		Namespace: r.Namespace, ControlPlaneID: r.ControlPlaneID, Type: t, MemberTimeout: r.MemberTimeout, Metrics: r.Metrics,
		MemberWait: r.MemberWait, Requeue: func(key types.NamespacedName) {
			obj := &unstructured.Unstructured{}
			obj.SetGroupVersionKind(t.Federated)
			obj.SetNamespace(key.Namespace)
			obj.SetName(key.Name)
			select {
			case requeue <- event.GenericEvent{Object: obj}:
			default:
				// A full queue is already busy; the reconcile's own requeue is the safety net.
			}
		},
	}
	c, err := controller.NewUnmanaged("sync-"+ftc.Name, controller.Options{
		Reconciler:              reconciler,
		MaxConcurrentReconciles: workers,
		SkipNameValidation:      ptr.To(true),
		// A failed object is tried again at most a minute later, so that a member fixed behind
		// the control plane's back (a role granted) is not waited for a quarter of an hour.
		RateLimiter: workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](5*time.Millisecond, maxRetryDelay),
		LogConstructor: func(req *reconcile.Request) logr.Logger {
			log := ctrl.Log.WithName("sync").WithValues("type", ftc.Name)
			if req != nil {
				log = log.WithValues("object", req.String())
			}
			return log
		},
	})
	if err != nil {
		return fmt.Errorf("failed to create the sync controller: %w", err)
	}
	if err := r.watch(c, t, requeue); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ctx == nil || r.ctx.Err() != nil {
		return errors.New("the control plane is stopping")
	}
	runCtx, cancel := context.WithCancel(r.ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := c.Start(runCtx); err != nil {
			ctrl.LoggerFrom(runCtx).Error(err, "the sync controller stopped", "type", ftc.Name)
		}
	}()
	r.running[ftc.Name] = &runningType{spec: *ftc.Spec.DeepCopy(), cancel: cancel, done: done}
	ctrl.LoggerFrom(ctx).Info("started the type's sync controller", "workers", workers)
	return nil
}

// workers reads the number of sync workers from the KubeFedConfig.
func (r *TypeConfigReconciler) workers(ctx context.Context) (int, error) {
	cfg := &corev1beta1.KubeFedConfig{}
	err := r.Client.Get(ctx, client.ObjectKey{Namespace: r.Namespace, Name: corev1beta1.DefaultConfigName}, cfg)
	switch {
	case apierrors.IsNotFound(err):
		return DefaultSyncWorkers, nil
	case err != nil:
		return 0, fmt.Errorf("failed to read the KubeFedConfig: %w", err)
	}
	if sc := cfg.Spec.SyncController; sc != nil && sc.MaxConcurrentReconciles != nil && *sc.MaxConcurrentReconciles > 0 {
		return int(*sc.MaxConcurrentReconciles), nil
	}
	return DefaultSyncWorkers, nil
}

// watch sets up what a sync controller watches: its federated objects, the clusters, the
// KubeFedConfig, the FederatedNamespaces (for namespaced types) and the member copies.
func (r *TypeConfigReconciler) watch(c controller.Controller, t Type, requeue <-chan event.GenericEvent) error {
	fed := &unstructured.Unstructured{}
	fed.SetGroupVersionKind(t.Federated)
	all := func(ctx context.Context) []reconcile.Request { return r.list(ctx, t, "") }
	allOf := func(ctx context.Context, _ client.Object) []reconcile.Request { return all(ctx) }
	sources := []source.Source{
		source.Kind[client.Object](r.Cache, fed, &handler.EnqueueRequestForObject{}, metadataOrSpecChanged()),
		source.Kind[client.Object](r.Cache, &corev1beta1.KubeFedCluster{}, handler.EnqueueRequestsFromMapFunc(allOf), cluster.PlacementChanged()),
		source.Kind[client.Object](r.Cache, &corev1beta1.KubeFedConfig{}, handler.EnqueueRequestsFromMapFunc(allOf), predicate.GenerationChangedPredicate{}),
		cluster.Source(r.Members, t.Target, t.federatedKey, all),
		// Objects whose members answered after their reconcile stopped waiting.
		source.Channel(requeue, &handler.EnqueueRequestForObject{}),
	}
	if t.Namespaced && !t.isNamespace() {
		fns := &unstructured.Unstructured{}
		fns.SetGroupVersionKind(FederatedNamespaceGVK)
		inNamespace := func(ctx context.Context, o client.Object) []reconcile.Request {
			return r.list(ctx, t, o.GetNamespace())
		}
		sources = append(sources, source.Kind[client.Object](r.Cache, fns, handler.EnqueueRequestsFromMapFunc(inNamespace), metadataOrSpecChanged()))
	}
	for _, s := range sources {
		if err := c.Watch(s); err != nil {
			return fmt.Errorf("failed to watch: %w", err)
		}
	}
	return nil
}

// list returns a request for every federated object of the type, in one namespace or all.
func (r *TypeConfigReconciler) list(ctx context.Context, t Type, namespace string) []reconcile.Request {
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(t.Federated.GroupVersion().WithKind(t.Federated.Kind + "List"))
	if err := r.Client.List(ctx, list, client.InNamespace(namespace)); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "failed to list federated objects", "type", t.Name)
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(list.Items))
	for _, o := range list.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: o.GetNamespace(), Name: o.GetName()}})
	}
	return reqs
}

// metadataOrSpecChanged lets through changes of the spec (generation), labels, annotations,
// finalizers and deletion, and drops status-only updates, which this controller writes.
func metadataOrSpecChanged() predicate.Predicate {
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		o, n := e.ObjectOld, e.ObjectNew
		return o.GetGeneration() != n.GetGeneration() ||
			!reflect.DeepEqual(o.GetLabels(), n.GetLabels()) ||
			!reflect.DeepEqual(o.GetAnnotations(), n.GetAnnotations()) ||
			!reflect.DeepEqual(o.GetFinalizers(), n.GetFinalizers()) ||
			(o.GetDeletionTimestamp() == nil) != (n.GetDeletionTimestamp() == nil)
	}}
}
