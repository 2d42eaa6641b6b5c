package federate

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
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
	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
	"github.com/fedplane/fedplane/pkg/cluster"
	"github.com/fedplane/fedplane/pkg/conflict"
	"github.com/fedplane/fedplane/pkg/goroutines"
	"github.com/fedplane/fedplane/pkg/hostcache"
	"github.com/fedplane/fedplane/pkg/kubefedconfig"
)

// maxObjectRetryDelay is the longest wait before a failed object is tried again.
const maxObjectRetryDelay = time.Minute

// notRunningRecheck is how soon a type whose kinds are not served yet is looked at again.
const notRunningRecheck = 10 * time.Second

// explainTimeout bounds the request that finds why a type's cache did not sync.
const explainTimeout = 10 * time.Second

// TypeConfigReconciler starts one sync controller per FederatedTypeConfig whose propagation
// is Enabled, and stops it when the type is disabled or its config deleted, with no restart
// of the process. It reports status.propagationController Running while the controller runs
// with its caches synced, and NotRunning otherwise, with the reason in the condition
// PropagationControllerRunning. A controller whose caches do not sync in time, or that stops
// with an error, is stopped and started again with a backoff; a type whose federated or
// target kind the host stops serving (its CustomResourceDefinition deleted) is stopped, its
// watches removed, until the kind is served again. It is also a manager runnable: the sync
// controllers live as long as it does, which is while this replica leads.
type TypeConfigReconciler struct {
	// Client reads the host from the manager's cache and writes it.
	Client client.Client
	// APIReader reads the host directly.
	APIReader client.Reader
	// Cache is the manager's cache, from which the sync controllers watch the host.
	Cache cache.Cache
	// Mapper maps the federated and target kinds to their resources.
	Mapper meta.RESTMapper
	// Discovery tells whether the host serves the federated and target kinds now; the
	// manager's RESTMapper may still map a kind whose CustomResourceDefinition was deleted.
	// Its requests must be bounded by a timeout.
	Discovery discovery.DiscoveryInterface
	// Members gives the member clusters' clients and caches.
	Members *cluster.Cache
	// Recorder records events on the federated objects and the FederatedTypeConfigs.
	Recorder events.EventRecorder
	// Namespace is the control plane's namespace.
	Namespace string
	// ControlPlaneID identifies this control plane on the member objects it manages.
	ControlPlaneID string
	// MemberTimeout bounds each request to a member; DefaultMemberTimeout when zero.
	MemberTimeout time.Duration
	// CacheSyncTimeout bounds the wait of a sync controller for its caches, after which the
	// type is reported CacheSyncFailed and started again after a backoff. Zero means the
	// KubeFedConfig's spec.controllerDuration.cacheSyncTimeout, read when the sync controller
	// starts.
	CacheSyncTimeout time.Duration
	// Metrics counts the writes to members; nil counts nothing.
	Metrics *Metrics
	// MemberWait bounds how long a sync worker waits for one member's answer;
	// DefaultMemberWait when zero.
	MemberWait time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// AutoFederate holds the names of the FederatedTypeConfigs whose labelled host objects are
	// federated automatically (see autofederate.Reconciler), while their type runs.
	AutoFederate map[string]bool
	// Dynamic watches the labelled host objects; nil federates nothing automatically.
	Dynamic dynamic.Interface

	mu      sync.Mutex
	ctx     context.Context
	started chan struct{}
	// running are the started sync controllers, by FederatedTypeConfig name.
	running goroutines.Registry[string, *runningType]
	retries map[string]*retry
	// deletedCRDs holds the names of the CustomResourceDefinitions of the types that were
	// seen deleted and not created again since.
	deletedCRDs map[string]bool
	// requeue carries the FederatedTypeConfigs whose sync controller synced, or failed, to
	// their reconcile.
	requeue chan event.GenericEvent
	// listing holds, per type, a lock that its sync controller's handlers hold while they
	// list federated objects, so that a stopped type's informer, once removed, is not created
	// again by a late handler. It is per type because such a list waits for the informer to
	// sync, which a type whose cache cannot sync holds until it is stopped.
	listing map[string]*sync.RWMutex
}

// runningType is a started sync controller. synced and err are set by the goroutine that
// runs it, under the reconciler's mutex; spec never changes.
type runningType struct {
	spec   corev1beta1.FederatedTypeConfigSpec
	synced bool
	reason string
	err    error
	// denials are what the members deny to the controller, for the MemberAccess condition.
	denials *DenialTracker
	// cacheSyncTimeout bounds the wait of the sync controller for its caches.
	cacheSyncTimeout time.Duration
}

// retry is the backoff of a type whose sync controller failed.
type retry struct {
	spec     corev1beta1.FederatedTypeConfigSpec
	attempts int
	next     time.Time
	phase    typePhase
}

// SetupWithManager registers the reconciler and its runnable. Besides the
// FederatedTypeConfigs, it watches the metadata of the host's CustomResourceDefinitions, to
// stop and start the types they serve.
func (r *TypeConfigReconciler) SetupWithManager(mgr ctrl.Manager) error {
	r.started = make(chan struct{})
	r.retries = map[string]*retry{}
	r.deletedCRDs = map[string]bool{}
	r.listing = map[string]*sync.RWMutex{}
	r.requeue = make(chan event.GenericEvent)
	if err := mgr.Add(r); err != nil {
		return err
	}
	crds := &metav1.PartialObjectMetadata{}
	crds.SetGroupVersionKind(apiextensionsv1.SchemeGroupVersion.WithKind("CustomResourceDefinition"))
	return ctrl.NewControllerManagedBy(mgr).
		Named("federatedtypeconfig").
		For(&corev1beta1.FederatedTypeConfig{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(crds, r.crdHandler()).
		Watches(&corev1beta1.KubeFedConfig{}, handler.EnqueueRequestsFromMapFunc(r.configChanged), builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		WatchesRawSource(source.Channel(r.requeue, &handler.EnqueueRequestForObject{})).
		Complete(r)
}

// Start keeps the sync controllers' context until the manager stops, then stops them all.
func (r *TypeConfigReconciler) Start(ctx context.Context) error {
	r.mu.Lock()
	r.ctx = ctx
	close(r.started)
	r.mu.Unlock()
	<-ctx.Done()
	r.running.StopAll()
	return nil
}

// Reconcile starts, restarts or stops the sync controller of one FederatedTypeConfig, and
// reports where it stands.
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
			r.forget(req.Name)
			return reconcile.Result{}, nil
		}
		return reconcile.Result{}, err
	}
	if ftc.DeletionTimestamp != nil || ftc.Spec.Propagation != corev1beta1.PropagationEnabled {
		r.stop(ctx, ftc.Name)
		r.forget(ftc.Name)
		return conflict.Retry(ctx, "write the status", r.setStatus(ctx, ftc, phaseDisabled))
	}
	if p, off, err := r.pushGate(ctx); err != nil || off {
		if err != nil {
			return reconcile.Result{}, err
		}
		r.stop(ctx, ftc.Name)
		r.forget(ftc.Name)
		return conflict.Retry(ctx, "write the status", r.setStatus(ctx, ftc, p))
	}
	phase, after := r.run(ctx, ftc)
	return conflict.Join(ctx, "write the status", reconcile.Result{RequeueAfter: after}, nil, r.setStatus(ctx, ftc, phase))
}

// pushGate reads the KubeFedConfig; off is set when its PushReconciler feature gate is
// Disabled, with the phase that every type then reports.
func (r *TypeConfigReconciler) pushGate(ctx context.Context) (p typePhase, off bool, err error) {
	settings, err := kubefedconfig.Read(ctx, r.Client, r.Namespace)
	if err != nil {
		return typePhase{}, false, fmt.Errorf("failed to read the settings: %w", err)
	}
	if settings.FeatureGates.PushReconciler {
		return typePhase{}, false, nil
	}
	return typePhase{
		reason: corev1beta1.ReasonPushReconcilerDisabled,
		message: fmt.Sprintf("the KubeFedConfig %s/%s disables the %s feature gate: nothing is propagated and the members' copies are left as they are",
			r.Namespace, corev1beta1.DefaultConfigName, kubefedconfig.GatePushReconciler),
	}, true, nil
}

// configChanged enqueues every FederatedTypeConfig when the KubeFedConfig changes, since its
// PushReconciler feature gate decides whether any type runs.
func (r *TypeConfigReconciler) configChanged(ctx context.Context, _ client.Object) []reconcile.Request {
	list := &corev1beta1.FederatedTypeConfigList{}
	if err := r.Client.List(ctx, list, client.InNamespace(r.Namespace)); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "failed to list the FederatedTypeConfigs after a KubeFedConfig change")
		return nil
	}
	out := make([]reconcile.Request, 0, len(list.Items))
	for _, ftc := range list.Items {
		out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&ftc)})
	}
	return out
}

// run brings the type's sync controller where its config wants it, and returns the phase it
// is in and when to look again (0: when something changes). A type whose kinds are not served
// is stopped; one that failed is stopped and started again after its backoff.
func (r *TypeConfigReconciler) run(ctx context.Context, ftc *corev1beta1.FederatedTypeConfig) (typePhase, time.Duration) {
	log := ctrl.LoggerFrom(ctx)
	if err := r.served(ctx, ftc.Spec); err != nil {
		r.stop(ctx, ftc.Name)
		r.forget(ftc.Name)
		log.Info("the type's sync controller is not running", "reason", err.Error())
		return typePhase{reason: corev1beta1.ReasonKindNotServed, message: err.Error()}, notRunningRecheck
	}
	if p, wait, ok := r.backingOff(ftc); ok {
		return p, wait
	}
	if rt, ok := r.current(ftc.Name); ok && rt.err != nil {
		r.stop(ctx, ftc.Name)
		if reflect.DeepEqual(rt.spec, ftc.Spec) {
			return r.failed(ctx, ftc, rt.reason, rt.err)
		}
	}
	if err := r.ensure(ctx, ftc); err != nil {
		return r.failed(ctx, ftc, corev1beta1.ReasonControllerStartFailed, err)
	}
	if rt, _ := r.current(ftc.Name); !rt.synced {
		return phaseStarting, 0
	}
	r.forget(ftc.Name)
	return phaseRunning, 0
}

// setStatus writes the FederatedTypeConfig's status when it changed, and records an event when
// the type starts running or stops for a reason that no other event told.
func (r *TypeConfigReconciler) setStatus(ctx context.Context, ftc *corev1beta1.FederatedTypeConfig, p typePhase) error {
	want := typeConfigStatus(ftc.Status, ftc.Generation, TypeFromConfig(ftc).StatusCollection, p, r.now())
	r.setAccess(&want, ftc, p)
	if reflect.DeepEqual(ftc.Status, want) {
		return nil
	}
	before := runningReason(ftc.Status)
	patch := client.MergeFrom(ftc.DeepCopy())
	ftc.Status = want
	if err := r.Client.Status().Patch(ctx, ftc, patch); err != nil {
		return err
	}
	if before != p.reason {
		switch p.reason {
		case corev1beta1.ReasonControllerRunning:
			r.event(ftc, corev1.EventTypeNormal, p.reason, "Start", "The sync controller runs: its caches have synced")
		case corev1beta1.ReasonPropagationDisabled:
			if before != "" {
				r.event(ftc, corev1.EventTypeNormal, p.reason, "Stop", "The sync controller is not running: %s", p.message)
			}
		case corev1beta1.ReasonKindNotServed:
			r.event(ftc, corev1.EventTypeWarning, p.reason, "Start", "The sync controller is not running: %s", p.message)
		}
	}
	return nil
}

// stop stops a type's sync controller, if it runs, and removes its watches: its handlers on
// the members' caches and the host's shared informers, and the informer of its federated
// kind, unless another running type needs it.
func (r *TypeConfigReconciler) stop(ctx context.Context, name string) {
	// The controller's goroutine takes the mutex to report: it is waited for without it.
	rt, ok := r.running.Stop(name)
	if !ok {
		return
	}
	t := TypeFromConfig(&corev1beta1.FederatedTypeConfig{Spec: rt.spec})
	shared := false
	for _, other := range r.running.Values() {
		shared = shared || TypeFromConfig(&corev1beta1.FederatedTypeConfig{Spec: other.spec}).watchesHost(t.Federated)
	}
	log := ctrl.LoggerFrom(ctx)
	if !shared {
		fed := &unstructured.Unstructured{}
		fed.SetGroupVersionKind(t.Federated)
		// A handler of the stopped controller that is listing finishes before the informer
		// goes; one that starts later sees its context done and lists nothing.
		listing := r.listLock(name)
		listing.Lock()
		err := r.Cache.RemoveInformer(ctx, fed)
		listing.Unlock()
		if err != nil {
			log.Error(err, "failed to drop the informer of a stopped type")
		}
	}
	log.Info("stopped the type's sync controller")
}

// ensure makes sure the type's sync controller runs with the config's current spec.
func (r *TypeConfigReconciler) ensure(ctx context.Context, ftc *corev1beta1.FederatedTypeConfig) error {
	rt, ok := r.running.Get(ftc.Name)
	if ok && reflect.DeepEqual(rt.spec, ftc.Spec) {
		return nil
	}
	if ok {
		r.stop(ctx, ftc.Name)
	}
	t := TypeFromConfig(ftc)
	if err := r.mapped(t); err != nil {
		return err
	}
	settings, err := kubefedconfig.Read(ctx, r.Client, r.Namespace)
	if err != nil {
		return err
	}
	ss := syncSettings{workers: settings.SyncWorkers, statusWorkers: settings.StatusWorkers, cacheSyncTimeout: r.cacheSyncTimeout(settings)}
	// Members are read and written with the mapping the config gives, never with their
	// discovery.
	r.Members.AddKind(t.Target, t.Resource, t.Namespaced)
	requeue := make(chan event.GenericEvent, 1024)
	denials := &DenialTracker{}
	reconciler := r.newSyncReconciler(t, requeue, denials)
	c, err := newController("sync", ftc.Name, reconciler, ss.workers, ss.cacheSyncTimeout)
	if err != nil {
		return err
	}
	r.mu.Lock()
	base := r.ctx
	r.mu.Unlock()
	if base == nil || base.Err() != nil {
		return errors.New("the control plane is stopping")
	}
	rt = &runningType{spec: *ftc.Spec.DeepCopy(), denials: denials, cacheSyncTimeout: ss.cacheSyncTimeout}
	tracked := newSyncTracker(c, func(ctx context.Context) { r.report(ctx, ftc.Name, rt, "", nil) })
	if err := r.watch(tracked, t, requeue, &reconciler.changes); err != nil {
		return err
	}
	status, err := r.statusController(ftc.Name, t, reconciler, ss)
	if err != nil {
		return err
	}
	r.running.Start(base, ftc.Name, rt, func(ctx context.Context) {
		// Set before the controller starts, so before any reconcile can call it.
		denials.Changed = func() { go r.requeueConfig(ctx, ftc.Name) }
		if status != nil {
			go r.runStatusController(ctx, ftc.Name, rt, status)
		}
		// The type's stop waits for the auto-federation too: its reconciles read the federated
		// kind's informer, which the stop may remove next.
		defer r.startAutoFederation(ctx, ftc.Name, rt.spec, ss.cacheSyncTimeout)()
		r.runController(ctx, ftc.Name, rt, tracked, t)
	})
	log := ctrl.LoggerFrom(ctx).WithValues("workers", ss.workers, "cacheSyncTimeout", ss.cacheSyncTimeout)
	if status != nil {
		log = log.WithValues("statusWorkers", ss.statusWorkers)
	}
	log.Info("started the type's sync controller")
	return nil
}

// statusController creates the status workers of a type that collects status (nil for one
// that does not), over reconciler: they take the changes of a member copy's status alone.
func (r *TypeConfigReconciler) statusController(name string, t Type, reconciler *SyncReconciler, ss syncSettings) (controller.Controller, error) {
	if !t.StatusCollection {
		return nil, nil
	}
	c, err := newController("status", name, statusReconciler{sync: reconciler}, ss.statusWorkers, ss.cacheSyncTimeout)
	if err != nil {
		return nil, err
	}
	if err := c.Watch(cluster.FilteredSource(r.Members, t.Target, t.federatedKey, nil, statusOnlyChange)); err != nil {
		return nil, fmt.Errorf("failed to watch: %w", err)
	}
	return c, nil
}

// runStatusController runs a type's status workers until ctx ends, and reports a failure.
func (r *TypeConfigReconciler) runStatusController(ctx context.Context, name string, rt *runningType, c controller.Controller) {
	if err := c.Start(ctx); err != nil && ctx.Err() == nil {
		r.report(ctx, name, rt, corev1beta1.ReasonControllerStartFailed, fmt.Errorf("the status controller stopped: %w", err))
	}
}

// mapped checks that the host's RESTMapper maps the type's federated and target kinds.
func (r *TypeConfigReconciler) mapped(t Type) error {
	for _, gvk := range []struct {
		what string
		gvk  schema.GroupVersionKind
	}{{"federated type", t.Federated}, {"target type", t.Target}} {
		if _, err := r.Mapper.RESTMapping(gvk.gvk.GroupKind(), gvk.gvk.Version); err != nil {
			return fmt.Errorf("the %s %s is not served: %w", gvk.what, gvk.gvk.Kind, err)
		}
	}
	return nil
}

// syncSettings are the KubeFedConfig's settings a sync controller is created with.
type syncSettings struct {
	workers          int
	statusWorkers    int
	cacheSyncTimeout time.Duration
}

// newSyncReconciler creates the reconciler of the type's objects. Objects sent to requeue are
// reconciled again; what members deny is told to denials.
func (r *TypeConfigReconciler) newSyncReconciler(t Type, requeue chan event.GenericEvent, denials *DenialTracker) *SyncReconciler {
	return &SyncReconciler{
		Client: r.Client, APIReader: r.APIReader, Members: r.Members, Recorder: r.Recorder,
		Namespace: r.Namespace, ControlPlaneID: r.ControlPlaneID, Type: t, MemberTimeout: r.MemberTimeout, Metrics: r.Metrics,
		MemberWait: r.MemberWait, Contention: &ContentionTracker{}, Applied: &AppliedCopies{}, Denials: denials, Requeue: func(key types.NamespacedName) {
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
}

// newController creates one of the type's controllers, not started yet: "sync" or "status"
// (see statusReconciler), with its own queue and workers.
func newController(kind, name string, reconciler reconcile.Reconciler, workers int, cacheSyncTimeout time.Duration) (controller.Controller, error) {
	c, err := controller.NewUnmanaged(kind+"-"+name, controller.Options{
		Reconciler:              reconciler,
		MaxConcurrentReconciles: workers,
		CacheSyncTimeout:        cacheSyncTimeout,
		SkipNameValidation:      ptr.To(true),
		// A failed object is tried again at most a minute later, so that a member fixed behind
		// the control plane's back (a role granted) is not waited for a quarter of an hour.
		RateLimiter: workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](5*time.Millisecond, maxObjectRetryDelay),
		LogConstructor: func(req *reconcile.Request) logr.Logger {
			log := ctrl.Log.WithName(kind).WithValues("type", name)
			if req != nil {
				log = log.WithValues("object", req.String())
			}
			return log
		},
	})
	if err != nil {
		return nil, fmt.Errorf("failed to create the %s controller: %w", kind, err)
	}
	return c, nil
}

// watch sets up what a sync controller watches: its federated objects, the clusters, the
// KubeFedConfig, the FederatedNamespaces (for namespaced types) and the member copies. The
// federated objects' changes are timed in changes.
func (r *TypeConfigReconciler) watch(c controller.Controller, t Type, requeue <-chan event.GenericEvent, changes *changeTimes) error {
	fed := &unstructured.Unstructured{}
	fed.SetGroupVersionKind(t.Federated)
	all := func(ctx context.Context) []reconcile.Request { return r.list(ctx, t, "") }
	allOf := func(ctx context.Context, _ client.Object) []reconcile.Request { return all(ctx) }
	sources := []source.Source{
		hostKind(r.Cache, fed, federatedEvents(changes, time.Now), metadataOrSpecChanged()),
		hostKind(r.Cache, &corev1beta1.KubeFedCluster{}, cluster.EnqueueAllOnChange(r.Client, r.Namespace, all), cluster.PlacementChanged()),
		hostKind(r.Cache, &corev1beta1.KubeFedConfig{}, handler.EnqueueRequestsFromMapFunc(allOf), predicate.GenerationChangedPredicate{}),
		cluster.FilteredSource(r.Members, t.Target, t.federatedKey, all, syncChange(t)),
		// Objects whose members answered after their reconcile stopped waiting, behind the
		// users' changes.
		source.Channel(requeue, cluster.EnqueueLow()),
	}
	if t.Namespaced && !t.isNamespace() {
		fns := &unstructured.Unstructured{}
		fns.SetGroupVersionKind(typesv1beta1.FederatedNamespaceGVK)
		inNamespace := func(ctx context.Context, o client.Object) []reconcile.Request {
			return r.list(ctx, t, o.GetNamespace())
		}
		sources = append(sources, hostKind(r.Cache, fns, handler.EnqueueRequestsFromMapFunc(inNamespace), metadataOrSpecChanged()),
			// A member namespace that goes or comes back, such as one whose deletion refused a copy.
			cluster.NamespaceSource(r.Members, func(ctx context.Context, namespace string) []reconcile.Request { return r.list(ctx, t, namespace) }))
	}
	for _, s := range sources {
		if err := c.Watch(s); err != nil {
			return fmt.Errorf("failed to watch: %w", err)
		}
	}
	return nil
}

// list returns a request for every federated object of the type, in one namespace or all.
// It returns none once ctx, the sync controller's, has ended.
func (r *TypeConfigReconciler) list(ctx context.Context, t Type, namespace string) []reconcile.Request {
	listing := r.listLock(t.Name)
	listing.RLock()
	defer listing.RUnlock()
	if ctx.Err() != nil {
		return nil
	}
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(t.Federated.GroupVersion().WithKind(t.Federated.Kind + "List"))
	// Only the keys are needed: the host cache decodes no body.
	if err := r.Client.List(ctx, list, client.InNamespace(namespace), hostcache.MetadataOnly{}); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "failed to list federated objects", "type", t.Name)
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(list.Items))
	for _, o := range list.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: o.GetNamespace(), Name: o.GetName()}})
	}
	return reqs
}

// listLock returns the type's lock of its handlers' lists.
func (r *TypeConfigReconciler) listLock(name string) *sync.RWMutex {
	r.mu.Lock()
	defer r.mu.Unlock()
	l, ok := r.listing[name]
	if !ok {
		l = &sync.RWMutex{}
		r.listing[name] = l
	}
	return l
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
