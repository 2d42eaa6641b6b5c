package federate

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/fedplane/fedplane/api/contract"
	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
	"github.com/fedplane/fedplane/pkg/cluster"
	"github.com/fedplane/fedplane/pkg/conflict"
	"github.com/fedplane/fedplane/pkg/placement"
)

// terminatingNamespaceRecheck is how soon a create refused because the member's namespace is
// being deleted is tried again, when no change of the namespace brings it back sooner.
const terminatingNamespaceRecheck = 2 * time.Minute

// DefaultMemberTimeout bounds each request to a member cluster.
const DefaultMemberTimeout = 10 * time.Second

// deletionRecheck is how soon a federated object being deleted is looked at again while
// member copies remain.
const deletionRecheck = 5 * time.Second

// SyncReconciler propagates the federated objects of one type to the member clusters: it
// reads the object, its namespace's FederatedNamespace, the clusters and the member copies,
// decides with pkg/placement, pkg/overrides and Decide, writes the members in parallel with
// server-side apply, and writes the status and the PropagatedVersion.
type SyncReconciler struct {
	// Client reads the host from the manager's cache and writes it.
	Client client.Client
	// APIReader reads the host directly.
	APIReader client.Reader
	// Members gives the member clusters' clients and caches.
	Members *cluster.Cache
	// Recorder records events on the federated objects.
	Recorder events.EventRecorder
	// Namespace is the control plane's namespace, where the KubeFedClusters and the
	// KubeFedConfig are.
	Namespace string
	// ControlPlaneID identifies this control plane on the member objects it manages.
	ControlPlaneID string
	// Type is the federated type.
	Type Type
	// MemberTimeout bounds each request to a member; DefaultMemberTimeout when zero.
	MemberTimeout time.Duration
	// Metrics counts the writes to members; nil counts nothing.
	Metrics *Metrics
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// MemberWait bounds how long a worker waits for one member's answer; DefaultMemberWait
	// when zero.
	MemberWait time.Duration
	// Requeue brings an object back to the queue, when a member answers after its reconcile
	// stopped waiting; nil brings nothing back.
	Requeue func(types.NamespacedName)
	// Contention notices member copies that another writer keeps changing back, and backs
	// off from them; nil never backs off.
	Contention *ContentionTracker
	// Applied remembers the member copies last seen as applied, so that the slim copies of
	// the member caches need not be read whole again; nil reads each whole.
	Applied *AppliedCopies
	// Denials keeps the requests that members deny, for one event per change and for the
	// FederatedTypeConfig's status; nil keeps nothing.
	Denials *DenialTracker

	lateMu sync.Mutex
	late   map[types.NamespacedName]map[string]lateResult
	// changes are when the objects' changes were seen, until a reconcile takes them.
	changes changeTimes
	// inFlight holds the objects being reconciled, when sync and status workers share this
	// reconciler.
	inFlight keyLocks
}

// scope is what one reconcile of one federated object reads, decides and does.
type scope struct {
	fed  *unstructured.Unstructured
	spec typesv1beta1.FederatedSpec
	// status is the status as read; the deferred status write compares with it.
	status   typesv1beta1.FederatedStatus
	deleting bool
	orphan   bool
	adopt    bool
	// source is the UID of the host object the federated object was generated from (its
	// controller owner, of the target kind), or empty.
	source types.UID
	// rawStatus tells whether the KubeFedConfig's RawResourceStatusCollection gate lets the
	// member objects' status be copied into status.clusters[].remoteStatus.
	rawStatus bool
	// clusters are the registered clusters, as placement sees them.
	clusters []placement.Cluster
	// nsPlacement is the placement of the FederatedNamespace of the object's namespace.
	nsPlacement *typesv1beta1.Placement
	placed      placement.Result
	// recorded are the clusters the PropagatedVersion lists.
	recorded map[string]bool
	version  client.Object

	// overall is the whole object's reason and message, set by the phases: why a phase stopped the
	// reconcile, or what concerns every cluster; a failure with no reason is only retried.
	overall condition
	// results are the clusters' outcomes; synced tells that the clusters' sync ran, and
	// complete that every cluster answered.
	results          []clusterResult
	synced, complete bool
	// gone tells that every copy is gone and the object is about to go too.
	gone bool
}

// condition is a whole-object reason, and the message that explains it, for the Propagation
// condition.
type condition struct {
	reason  typesv1beta1.AggregateReason
	message string
}

func newScope(fed *unstructured.Unstructured) *scope {
	return &scope{fed: fed, deleting: fed.GetDeletionTimestamp() != nil, orphan: fed.GetAnnotations()[contract.OrphanAnnotation] == "true"}
}

// Reconcile propagates one federated object, once no status worker is reconciling it.
func (r *SyncReconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	unlock, ok := r.inFlight.lock(ctx, req.NamespacedName)
	if !ok {
		return reconcile.Result{}, ctx.Err()
	}
	defer unlock()
	return r.reconcile(ctx, req)
}

// reconcile propagates one federated object: it reads the object, ensures the finalizer,
// defers the one status write, and runs the phases read, decide (placement), sync (in each
// cluster: read the copy, decide, write) and finish (the PropagatedVersion, or the
// finalizer's removal). A phase that fails leaves in the scope why, for the status.
func (r *SyncReconciler) reconcile(ctx context.Context, req reconcile.Request) (result reconcile.Result, err error) {
	started := time.Now()
	defer func() { r.Metrics.reconciled(time.Since(started)) }()
	fed := &unstructured.Unstructured{}
	fed.SetGroupVersionKind(r.Type.Federated)
	if err := r.Client.Get(ctx, req.NamespacedName, fed); err != nil {
		if !apierrors.IsNotFound(err) {
			return reconcile.Result{}, fmt.Errorf("failed to read the %s: %w", r.Type.Federated.Kind, err)
		}
		return r.forget(ctx, req.NamespacedName)
	}
	if ch, ok := r.changes.take(req.NamespacedName); ok {
		r.Metrics.changeWaited(r.Type.Name, ch.kind, started.Sub(ch.at))
	}
	ctx = ctrl.LoggerInto(ctx, ctrl.LoggerFrom(ctx).WithValues(strings.ToLower(r.Type.Federated.Kind), klog.KObj(fed)))
	s := newScope(fed)
	s.source = r.Type.sourceUID(fed)
	if s.deleting && !controllerutil.ContainsFinalizer(fed, contract.SyncFinalizer) {
		return reconcile.Result{}, nil
	}
	if err := r.ensureFinalizer(ctx, s); err != nil {
		// The object changed since the cache read it; its update brings it back.
		return conflict.Retry(ctx, "add the finalizer", err)
	}
	defer func() { result, err = r.recordStatus(ctx, s, result, err) }()
	if err := r.read(ctx, s); err != nil {
		return reconcile.Result{}, fmt.Errorf("failed to read the inputs: %w", err)
	}
	if err := r.place(ctx, s); err != nil {
		return reconcile.Result{}, fmt.Errorf("failed to compute the placement: %w", err)
	}
	r.sync(ctx, s)
	return r.finish(ctx, s)
}

// forget handles a federated object that does not exist: what is kept about it goes, and its
// member copies still labelled as managed are released.
func (r *SyncReconciler) forget(ctx context.Context, key types.NamespacedName) (reconcile.Result, error) {
	r.Contention.Forget(key)
	r.Denials.forget(key)
	r.changes.take(key)
	// Late answers for an object that is gone are for nobody.
	r.takeLate(key, "")
	return r.releaseStrays(ctx, key)
}

// ensureFinalizer adds the finalizer to an object that is not being deleted.
func (r *SyncReconciler) ensureFinalizer(ctx context.Context, s *scope) error {
	if s.deleting || controllerutil.ContainsFinalizer(s.fed, contract.SyncFinalizer) {
		return nil
	}
	patch := client.MergeFromWithOptions(s.fed.DeepCopy(), client.MergeFromWithOptimisticLock{})
	controllerutil.AddFinalizer(s.fed, contract.SyncFinalizer)
	return r.Client.Patch(ctx, s.fed, patch)
}

func (r *SyncReconciler) removeFinalizer(ctx context.Context, fed *unstructured.Unstructured) error {
	patch := client.MergeFromWithOptions(fed.DeepCopy(), client.MergeFromWithOptimisticLock{})
	controllerutil.RemoveFinalizer(fed, contract.SyncFinalizer)
	return client.IgnoreNotFound(r.Client.Patch(ctx, fed, patch))
}

// sync decides and acts in every registered cluster, and records one event per kind of write
// and one per request that a cluster newly denies.
func (r *SyncReconciler) sync(ctx context.Context, s *scope) {
	s.results, s.complete = r.dispatch(ctx, s)
	s.synced = true
	r.recordWrites(s, s.results)
	r.recordDenials(s, s.results)
}

// finish turns the clusters' outcomes into the reconcile's result once every cluster has
// answered: it records the PropagatedVersion of an object that stays, and removes the
// finalizer of a deleted object whose copies are all gone.
func (r *SyncReconciler) finish(ctx context.Context, s *scope) (reconcile.Result, error) {
	result, err := requeue(s.results)
	if !s.complete {
		// A member has not answered yet. Its answer brings the object back, and the status and
		// the PropagatedVersion are written then, whole.
		return result, err
	}
	if !s.deleting {
		return r.recordVersion(ctx, s, result, err)
	}
	s.overall.message = deletionMessage(waitingFor(s.results), s.orphan)
	if err != nil || result.RequeueAfter > 0 {
		return result, err
	}
	if pending(s.results) {
		// Member events normally bring the object back; this is the safety net.
		return reconcile.Result{RequeueAfter: deletionRecheck}, nil
	}
	// An object whose copies are all gone is about to go too: a last status would be written
	// for nobody to read.
	s.gone = true
	if err := r.removeFinalizer(ctx, s.fed); err != nil {
		return conflict.Retry(ctx, "remove the finalizer", err)
	}
	ctrl.LoggerFrom(ctx).Info("member objects removed or orphaned; finalizer removed")
	return reconcile.Result{}, nil
}

func (r *SyncReconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *SyncReconciler) timeout() time.Duration {
	if r.MemberTimeout > 0 {
		return r.MemberTimeout
	}
	return DefaultMemberTimeout
}
