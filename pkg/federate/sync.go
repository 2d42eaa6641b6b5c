package federate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	corev1alpha1 "github.com/fedplane/fedplane/api/core/v1alpha1"
	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
	"github.com/fedplane/fedplane/pkg/cluster"
	"github.com/fedplane/fedplane/pkg/hostview"
	"github.com/fedplane/fedplane/pkg/overrides"
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

// Type is a federated type as the sync reconciler sees it: what its FederatedTypeConfig says.
type Type struct {
	// Name is the FederatedTypeConfig's name, such as deployments.apps.
	Name string
	// Target is the kind of the member objects.
	Target schema.GroupVersionKind
	// Resource is the member objects' plural resource name, such as deployments.
	Resource string
	// Namespaced tells whether the member objects are namespaced.
	Namespaced bool
	// Federated is the kind of the federated objects.
	Federated schema.GroupVersionKind
	// StatusCollection tells whether the member objects' status is copied into
	// status.clusters[].remoteStatus.
	StatusCollection bool
}

// TypeFromConfig reads a FederatedTypeConfig. Status collection is on when the config says
// Enabled and, when it says nothing, for Deployments, ReplicaSets and Jobs.
func TypeFromConfig(ftc *corev1beta1.FederatedTypeConfig) Type {
	s := ftc.Spec
	t := Type{
		Name:       ftc.Name,
		Target:     schema.GroupVersionKind{Group: s.TargetType.Group, Version: s.TargetType.Version, Kind: s.TargetType.Kind},
		Resource:   s.TargetType.PluralName,
		Namespaced: s.TargetType.Scope == corev1beta1.NamespaceScoped,
		Federated:  schema.GroupVersionKind{Group: s.FederatedType.Group, Version: s.FederatedType.Version, Kind: s.FederatedType.Kind},
	}
	if s.StatusCollection != nil {
		t.StatusCollection = *s.StatusCollection == corev1beta1.StatusCollectionEnabled
	} else {
		switch t.Target.GroupKind() {
		case schema.GroupKind{Group: "apps", Kind: "Deployment"}, schema.GroupKind{Group: "apps", Kind: "ReplicaSet"}, schema.GroupKind{Group: "batch", Kind: "Job"}:
			t.StatusCollection = true
		}
	}
	return t
}

// federatedKey maps a member object to its federated object: same name, and same namespace (a
// FederatedNamespace is in the namespace it federates).
func (t Type) federatedKey(obj *unstructured.Unstructured) types.NamespacedName {
	if t.isNamespace() {
		return types.NamespacedName{Namespace: obj.GetName(), Name: obj.GetName()}
	}
	return types.NamespacedName{Namespace: obj.GetNamespace(), Name: obj.GetName()}
}

// isNamespace tells whether the type federates namespaces.
func (t Type) isNamespace() bool {
	return t.Target.Group == "" && t.Target.Kind == "Namespace"
}

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

	lateMu sync.Mutex
	late   map[types.NamespacedName]map[string]lateResult
}

// scope is what one reconcile of one federated object reads and decides.
type scope struct {
	fed  *unstructured.Unstructured
	spec typesv1beta1.FederatedSpec
	// template is spec.template, shared with fed: it is read, never modified.
	template map[string]any
	status   typesv1beta1.FederatedStatus
	deleting bool
	orphan   bool
	adopt    bool
	clusters []corev1beta1.KubeFedCluster
	placed   placement.Result
	reason   typesv1beta1.AggregateReason
	// recorded are the clusters the PropagatedVersion lists.
	recorded map[string]bool
	version  client.Object
}

// clusterResult is the outcome in one cluster.
type clusterResult struct {
	name         string
	decision     ClusterDecision
	status       typesv1beta1.PropagationStatus
	remoteStatus *typesv1beta1.Raw
	// version is the member object's version, when this control plane manages it there.
	version string
	// replicas and ready are a scalable workload's desired and ready replicas in the cluster,
	// when its remote status is collected.
	replicas, ready *int64
	written         bool
	// busy tells that no request could be sent to the member: it had no room, or a request
	// about the object was still outstanding.
	busy bool
	// inFlight tells that the cluster had not answered when its reconcile stopped waiting.
	inFlight bool
	// retry is set when the cluster must be tried again: after this long, or soon when the
	// error is set.
	retry time.Duration
	err   error
}

// Reconcile propagates one federated object.
func (r *SyncReconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	started := time.Now()
	defer func() { r.Metrics.reconciled(time.Since(started)) }()
	fed := &unstructured.Unstructured{}
	fed.SetGroupVersionKind(r.Type.Federated)
	if err := r.Client.Get(ctx, req.NamespacedName, fed); err != nil {
		if !apierrors.IsNotFound(err) {
			return reconcile.Result{}, err
		}
		r.Contention.Forget(req.NamespacedName)
		// Late answers for an object that is gone are for nobody.
		r.takeLate(req.NamespacedName, "")
		return r.releaseStrays(ctx, req.NamespacedName)
	}
	log := ctrl.LoggerFrom(ctx).WithValues(strings.ToLower(r.Type.Federated.Kind), klog.KObj(fed))
	ctx = ctrl.LoggerInto(ctx, log)

	s := &scope{fed: fed, deleting: fed.GetDeletionTimestamp() != nil, orphan: fed.GetAnnotations()[OrphanAnnotation] == "true"}
	if s.deleting && !controllerutil.ContainsFinalizer(fed, Finalizer) {
		return reconcile.Result{}, nil
	}
	if !s.deleting && !controllerutil.ContainsFinalizer(fed, Finalizer) {
		if err := r.addFinalizer(ctx, fed); err != nil {
			if apierrors.IsConflict(err) {
				// The object changed since the cache read it; its update brings it back.
				return reconcile.Result{RequeueAfter: time.Second}, nil
			}
			return reconcile.Result{}, fmt.Errorf("failed to add the finalizer: %w", err)
		}
	}
	if err := r.read(ctx, s); err != nil {
		return reconcile.Result{}, fmt.Errorf("failed to read the inputs: %w", err)
	}
	if err := r.place(ctx, s); err != nil {
		return reconcile.Result{}, fmt.Errorf("failed to compute the placement: %w", err)
	}
	results, complete := r.dispatch(ctx, s)
	r.recordWrites(s, results)
	result, err := requeue(results)
	if !complete {
		// A member has not answered yet. Its answer brings the object back, and the status and
		// the PropagatedVersion are written then, whole.
		return result, err
	}
	// An object whose copies are all gone is about to go too: a last status would be written
	// for nobody to read.
	gone := s.deleting && err == nil && result.RequeueAfter == 0 && !pending(results)
	if !gone {
		if err := r.writeStatus(ctx, s, results); err != nil {
			return reconcile.Result{}, fmt.Errorf("failed to write the status: %w", err)
		}
	}
	if !s.deleting {
		if verr := r.writeVersion(ctx, s, results); verr != nil {
			switch {
			case apierrors.HasStatusCause(verr, corev1.NamespaceTerminatingCause):
				// The object's namespace is being deleted, and the object with it: its
				// deletion brings it back, and no retry could create the version now.
				log.V(1).Info("the propagated version is not recorded: the namespace is being deleted")
				return result, err
			case apierrors.IsConflict(verr) || apierrors.IsAlreadyExists(verr):
				// The cache is behind this controller's own write; look again shortly.
				return reconcile.Result{RequeueAfter: time.Second}, nil
			}
			return reconcile.Result{}, fmt.Errorf("failed to write the propagated version: %w", verr)
		}
	}
	if err != nil || result.RequeueAfter > 0 {
		return result, err
	}
	if s.deleting {
		if pending(results) {
			// Member events normally bring the object back; this is the safety net.
			return reconcile.Result{RequeueAfter: deletionRecheck}, nil
		}
		if err := r.removeFinalizer(ctx, fed); err != nil {
			if apierrors.IsConflict(err) {
				// The cache is behind this controller's own status write; look again shortly.
				return reconcile.Result{RequeueAfter: time.Second}, nil
			}
			return reconcile.Result{}, fmt.Errorf("failed to remove the finalizer: %w", err)
		}
		log.Info("member objects removed or orphaned; finalizer removed")
	}
	return result, nil
}

func (r *SyncReconciler) addFinalizer(ctx context.Context, fed *unstructured.Unstructured) error {
	patch := client.MergeFromWithOptions(fed.DeepCopy(), client.MergeFromWithOptimisticLock{})
	controllerutil.AddFinalizer(fed, Finalizer)
	return r.Client.Patch(ctx, fed, patch)
}

func (r *SyncReconciler) removeFinalizer(ctx context.Context, fed *unstructured.Unstructured) error {
	patch := client.MergeFromWithOptions(fed.DeepCopy(), client.MergeFromWithOptimisticLock{})
	controllerutil.RemoveFinalizer(fed, Finalizer)
	return client.IgnoreNotFound(r.Client.Patch(ctx, fed, patch))
}

// read reads the object's spec and status, the clusters, the KubeFedConfig and the
// PropagatedVersion.
func (r *SyncReconciler) read(ctx context.Context, s *scope) error {
	if err := hostview.FromUnstructured(s.fed.Object["spec"], &s.spec); err != nil {
		return reconcile.TerminalError(fmt.Errorf("spec: %w", err))
	}
	if t, found, _ := unstructured.NestedFieldNoCopy(s.fed.Object, "spec", "template"); found {
		template, ok := t.(map[string]any)
		if !ok && t != nil {
			return reconcile.TerminalError(errors.New("spec.template must be an object"))
		}
		s.template = template
	}
	if err := hostview.FromUnstructured(s.fed.Object["status"], &s.status); err != nil {
		// A status this controller cannot read is simply rewritten.
		s.status = typesv1beta1.FederatedStatus{}
	}
	list := &corev1beta1.KubeFedClusterList{}
	if err := r.Client.List(ctx, list, client.InNamespace(r.Namespace)); err != nil {
		return fmt.Errorf("failed to list the KubeFedClusters: %w", err)
	}
	s.clusters = list.Items
	s.adopt = true
	cfg := &corev1beta1.KubeFedConfig{}
	switch err := r.Client.Get(ctx, client.ObjectKey{Namespace: r.Namespace, Name: corev1beta1.DefaultConfigName}, cfg); {
	case apierrors.IsNotFound(err):
	case err != nil:
		return fmt.Errorf("failed to read the KubeFedConfig: %w", err)
	default:
		if sc := cfg.Spec.SyncController; sc != nil && sc.AdoptResources != nil {
			s.adopt = *sc.AdoptResources != corev1beta1.AdoptResourcesDisabled
		}
	}
	s.version = r.newVersion(s.fed)
	s.recorded = map[string]bool{}
	switch err := r.Client.Get(ctx, client.ObjectKeyFromObject(s.version), s.version); {
	case apierrors.IsNotFound(err):
	case err != nil:
		return fmt.Errorf("failed to read the propagated version: %w", err)
	default:
		for _, cv := range versionStatus(s.version).ClusterVersions {
			s.recorded[cv.ClusterName] = true
		}
	}
	return nil
}

// previousStatus is the cluster's status as the object's status last gave it.
func (s *scope) previousStatus(name string) typesv1beta1.PropagationStatus {
	for _, c := range s.status.Clusters {
		if c.Name == name {
			return c.Status
		}
	}
	return typesv1beta1.ClusterPropagationOK
}

// place resolves the placement; a deleted object is placed nowhere.
func (r *SyncReconciler) place(ctx context.Context, s *scope) error {
	in := placement.Input{Placement: s.spec.Placement, Namespaced: r.Type.Namespaced, IsFederatedNamespace: r.Type.isNamespace(), Clusters: hostview.PlacementClusters(s.clusters)}
	if s.deleting {
		in.Placement = typesv1beta1.Placement{Clusters: []typesv1beta1.ClusterReference{}}
	} else if r.Type.Namespaced && !r.Type.isNamespace() {
		nsPlacement, err := hostview.NamespacePlacement(ctx, r.Client, s.fed.GetNamespace())
		if err != nil {
			return err
		}
		in.NamespacePlacement = nsPlacement
	}
	res, err := placement.Resolve(in)
	if err != nil {
		// Nothing is placed; copies already made stay until the placement is fixed.
		s.reason = typesv1beta1.ComputePlacementFailed
		r.Recorder.Eventf(s.fed, nil, corev1.EventTypeWarning, "ComputePlacementFailed", "Place", "Invalid placement: %v", err)
		return reconcile.TerminalError(err)
	}
	s.placed = res
	if res.Reason == placement.NamespaceNotFederated {
		s.reason = typesv1beta1.NamespaceNotFederated
	}
	return nil
}

// dispatch decides and acts in every registered cluster in parallel, each cluster with its
// own timeout. It waits for a cluster's answer at most MemberWait, and not at all beyond a
// moment for a member that already has a request outstanding for longer than that: a slow or
// hung member never holds the worker. A cluster that has not answered in time goes on in the
// background; its answer is kept and brings the object back, and complete is false until then,
// so that the status is only ever written whole.
func (r *SyncReconciler) dispatch(ctx context.Context, s *scope) (results []clusterResult, complete bool) {
	key := client.ObjectKeyFromObject(s.fed)
	late := r.takeLate(key, s.fed.GetResourceVersion())
	results = make([]clusterResult, len(s.placed.Decisions))
	answers := make([]chan clusterResult, len(s.placed.Decisions))
	for i, d := range s.placed.Decisions {
		if res, ok := late[d.Name]; ok {
			results[i] = res
			continue
		}
		answer := make(chan clusterResult, 1)
		answers[i] = answer
		go func() { answer <- r.syncCluster(ctx, s, d) }()
	}
	wait := r.memberWait()
	waitCtx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	complete = true
	for i, answer := range answers {
		if answer == nil {
			continue
		}
		name := s.placed.Decisions[i].Name
		limit := waitCtx.Done()
		if r.Members.Slow(name, wait) {
			slowCtx, cancelSlow := context.WithTimeout(ctx, slowMemberWait)
			defer cancelSlow()
			limit = slowCtx.Done()
		}
		select {
		case res := <-answer:
			results[i] = res
		case <-limit:
			complete = false
			results[i] = clusterResult{name: name, inFlight: true}
			rv := s.fed.GetResourceVersion()
			go func() {
				r.storeLate(key, rv, <-answer)
				if r.Requeue != nil {
					r.Requeue(key)
				}
			}()
		}
		if results[i].busy || results[i].inFlight {
			complete = false
		}
	}
	return results, complete
}

// slowMemberWait is how long dispatch waits for a member that is slow to answer: long enough
// for an answer from its cache, too short for a request to it.
const slowMemberWait = 50 * time.Millisecond

// DefaultMemberWait is how long a sync worker waits for a member's answer before it leaves the
// request in the background.
const DefaultMemberWait = 250 * time.Millisecond

func (r *SyncReconciler) memberWait() time.Duration {
	if r.MemberWait > 0 {
		return r.MemberWait
	}
	return DefaultMemberWait
}

// lateResult is a cluster's answer that came after its reconcile stopped waiting.
type lateResult struct {
	// version is the federated object's resourceVersion that the answer was for.
	version string
	res     clusterResult
}

// storeLate keeps a cluster's late answer for the next reconcile of the object.
func (r *SyncReconciler) storeLate(key types.NamespacedName, version string, res clusterResult) {
	r.lateMu.Lock()
	defer r.lateMu.Unlock()
	if r.late == nil {
		r.late = map[types.NamespacedName]map[string]lateResult{}
	}
	if r.late[key] == nil {
		r.late[key] = map[string]lateResult{}
	}
	r.late[key][res.name] = lateResult{version: version, res: res}
}

// takeLate returns, and forgets, the late answers for the object; those for an older version
// of it are dropped, and the clusters asked again.
func (r *SyncReconciler) takeLate(key types.NamespacedName, version string) map[string]clusterResult {
	r.lateMu.Lock()
	defer r.lateMu.Unlock()
	stored := r.late[key]
	delete(r.late, key)
	out := map[string]clusterResult{}
	for name, l := range stored {
		if l.version == version {
			out[name] = l.res
		}
	}
	return out
}

func (r *SyncReconciler) timeout() time.Duration {
	if r.MemberTimeout > 0 {
		return r.MemberTimeout
	}
	return DefaultMemberTimeout
}

// errNotSynced says that a member's cache has not listed the kind yet.
var errNotSynced = errors.New("the member's objects of this kind are not listed yet")

// syncCluster reads the member copy, decides and acts in one cluster. It reads the member's
// cache, which never waits; a request to the member itself (a lookup of an object to adopt, a
// write) is sent only when the cluster is Ready, connected and not suspended, and only while
// the member has room for it (see cluster.Cache.Begin).
func (r *SyncReconciler) syncCluster(ctx context.Context, s *scope, d placement.Decision) clusterResult {
	name := d.Name
	log := ctrl.LoggerFrom(ctx).WithValues("cluster", name)
	ctx = ctrl.LoggerInto(ctx, log)
	res := clusterResult{name: name}
	_, connected := r.Members.Client(name)
	suspended := r.Members.Suspended(name)
	in := ClusterInput{
		Selected: d.Selected, Ready: d.Ready && connected && suspended == 0,
		Deleting: s.deleting, Orphan: s.orphan, AdoptResources: s.adopt, ControlPlaneID: r.ControlPlaneID, ClusterName: name,
		MayHaveCopy: s.recorded[name] || d.Selected,
	}
	if suspended > 0 && d.Ready && d.Selected {
		res.retry = suspended
	}
	unread := func(err error) clusterResult {
		res.status, res.err = typesv1beta1.CachedRetrievalFailed, err
		res.decision = ClusterDecision{Listed: d.Selected || s.recorded[name], Pending: true}
		return res
	}
	if connected {
		existing, err := r.cachedCopy(ctx, s, name)
		switch {
		case errors.Is(err, errNotSynced) && !in.Ready:
			// Nothing can be done there now; say so, as for a cluster not connected.
		case errors.Is(err, errNotSynced) && r.Members.ConnectedFor(name) < r.timeout():
			// Just connected: the listing brings the object back, and the status waits for it
			// rather than saying for a moment that the copy cannot be read.
			res.busy, res.retry = true, time.Second
			res.decision = ClusterDecision{Listed: d.Selected || s.recorded[name], Pending: true}
			return res
		case errors.Is(err, errNotSynced):
			// Listing takes longer than a member request may: say so; the listing still brings
			// the object back once it completes.
			res.status = typesv1beta1.CachedRetrievalFailed
			res.decision = ClusterDecision{Listed: d.Selected || s.recorded[name], Pending: true}
			res.retry = time.Second
			return res
		case err != nil:
			return unread(err)
		}
		in.Existing = existing
	}
	var end func()
	defer func() {
		if end != nil {
			end()
		}
	}()
	// reserve takes a place for a request to the member; false means the member has no room,
	// or a request about this object is still outstanding (its answer brings the object back).
	reserve := func() bool {
		if end == nil {
			end, _ = r.Members.Begin(name, r.Type.Name+"/"+client.ObjectKeyFromObject(s.fed).String())
		}
		if end == nil {
			res.busy, res.retry = true, time.Second
			res.decision = ClusterDecision{Listed: d.Selected || s.recorded[name], Pending: true}
		}
		return end != nil
	}
	place := d.Selected && !s.deleting && in.Ready
	if place && in.Existing == nil {
		if !reserve() {
			return res
		}
		lc, _ := r.Members.LiveClient(name)
		cctx, cancel := context.WithTimeout(ctx, r.timeout())
		existing, err := r.liveCopy(cctx, s, lc)
		cancel()
		if err != nil {
			if isTimeout(err) {
				r.Members.ReportTimeout(name)
			}
			return unread(err)
		}
		in.Existing = existing
	}
	if (s.deleting || !d.Selected) && r.Type.isNamespace() && in.Existing != nil && in.Existing.GetLabels()[ManagedLabel] == "true" {
		host, err := r.isHostNamespace(ctx, in.Existing)
		if err != nil {
			return unread(err)
		}
		in.HostNamespace = host
	}
	if place {
		desired, err := r.render(s, name, in.Existing)
		if err != nil {
			var oe *overrides.OverrideError
			in.RenderFailed = errors.As(err, &oe)
			r.Recorder.Eventf(s.fed, nil, corev1.EventTypeWarning, "ApplyOverridesFailed", "Render", "Failed to render for cluster %s: %v", name, err)
		}
		in.Desired = desired
	}
	res.decision = Decide(in)
	res.status = res.decision.Status
	res.replicas, res.ready = r.replicas(in)
	if in.Existing != nil && res.decision.Status == typesv1beta1.ClusterPropagationOK {
		res.version = ClusterVersion(in.Existing)
		res.remoteStatus = r.remoteStatus(in.Existing)
	}
	if in.Existing != nil && r.contend(s, name, in, &res) {
		return res
	}
	if res.decision.Status == typesv1beta1.ManagedForAnotherCluster && s.previousStatus(name) != res.decision.Status {
		r.Recorder.Eventf(s.fed, nil, corev1.EventTypeWarning, string(typesv1beta1.ManagedForAnotherCluster), "Fence",
			"%s %s in cluster %s was written for KubeFedCluster %s; it is left alone: two registrations reach one cluster",
			r.Type.Target.Kind, klog.KObj(in.Existing), name, in.Existing.GetAnnotations()[ClusterAnnotation])
	}
	if res.decision.Action == ActionNone {
		return res
	}
	if !in.Ready {
		// Decide never acts in a cluster that is not Ready; this is a second lock on that door.
		return res
	}
	if !reserve() {
		return res
	}
	cctx, cancel := context.WithTimeout(ctx, r.timeout())
	defer cancel()
	writing := time.Now()
	obj, err := r.act(cctx, s, name, res.decision.Action, in)
	r.Metrics.dispatched(res.decision.Action, time.Since(writing))
	r.Metrics.countWrite(name, r.Type.Name, res.decision.Action, err)
	if apierrors.IsConflict(err) {
		// The member object changed since it was read: read it again.
		res.retry = time.Second
		return res
	}
	if err != nil {
		res.err = err
		res.status = failureStatus(res.decision.Action, err)
		if isTimeout(err) {
			r.Members.ReportTimeout(name)
		}
		if res.decision.Action == ActionCreate && apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
			// Retrying cannot help until the member's namespace changes, which brings the
			// object back (see cluster.NamespaceSource); the long requeue is for a namespace
			// that this control plane does not manage, whose changes it does not see.
			res.err, res.retry = nil, terminatingNamespaceRecheck
		}
		r.Recorder.Eventf(s.fed, nil, corev1.EventTypeWarning, string(res.decision.Action)+"InClusterFailed", string(res.decision.Action),
			"Failed to %s %s %s in cluster %s: %v", strings.ToLower(string(res.decision.Action)), r.Type.Target.Kind, klog.KObj(s.fed), name, err)
		return res
	}
	r.Members.ReportSuccess(name)
	res.written = true
	if res.decision.Action == ActionCreate || res.decision.Action == ActionUpdate {
		r.Contention.Applied(ContentionKey{Object: client.ObjectKeyFromObject(s.fed), Cluster: name}, freshApply(in.Desired, in.Existing))
	}
	log.V(1).Info("wrote the member object", "action", res.decision.Action)
	if obj != nil {
		res.version = ClusterVersion(obj)
		res.remoteStatus = r.remoteStatus(obj)
	}
	return res
}

// recordWrites records one event per kind of write done in this reconcile, naming the
// clusters in order: one event per object and action, not one per cluster, keeps the host's
// event writes from growing with the number of members.
func (r *SyncReconciler) recordWrites(s *scope, results []clusterResult) {
	byAction := map[Action][]string{}
	for _, res := range results {
		if res.written {
			byAction[res.decision.Action] = append(byAction[res.decision.Action], res.name)
		}
	}
	for _, action := range []Action{ActionCreate, ActionUpdate, ActionDelete, ActionOrphan} {
		clusters := byAction[action]
		if len(clusters) == 0 {
			continue
		}
		sort.Strings(clusters)
		noun := "cluster"
		if len(clusters) > 1 {
			noun = "clusters"
		}
		r.Recorder.Eventf(s.fed, nil, corev1.EventTypeNormal, string(action)+"InCluster", string(action),
			"%s %s %s in %s %s", pastTense(action), r.Type.Target.Kind, klog.KObj(s.fed), noun, strings.Join(clusters, ", "))
	}
}

// replicas returns a scalable workload's desired replicas in a selected cluster, and the
// ready replicas its member object reports, for types that collect remote status.
func (r *SyncReconciler) replicas(in ClusterInput) (desired, ready *int64) {
	if !r.Type.StatusCollection || !in.Selected || in.Deleting {
		return nil, nil
	}
	want := in.Desired
	if want == nil {
		want = in.Existing
	}
	if want == nil {
		return nil, nil
	}
	d, found, err := unstructured.NestedInt64(want.Object, "spec", "replicas")
	if !found || err != nil {
		return nil, nil
	}
	var rd int64
	if in.Existing != nil {
		rd, _, _ = unstructured.NestedInt64(in.Existing.Object, "status", "readyReplicas")
	}
	return &d, &rd
}

// cachedCopy reads the member object from the member's cache, which holds managed objects
// only. It never waits for the member: until the cache has listed the kind it says
// errNotSynced, as it does once ctx has ended (the type is stopping).
func (r *SyncReconciler) cachedCopy(ctx context.Context, s *scope, name string) (*unstructured.Unstructured, error) {
	obj := &unstructured.Unstructured{}
	obj.SetGroupVersionKind(r.Type.Target)
	synced, err := r.Members.GetSynced(ctx, name, r.targetKey(s.fed), obj)
	switch {
	case !synced:
		return nil, errNotSynced
	case apierrors.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, err
	}
	return obj, nil
}

// liveCopy asks the member's API server for the object, to find one that is not (or not yet)
// managed, which the cache does not hold.
func (r *SyncReconciler) liveCopy(ctx context.Context, s *scope, lc client.Client) (*unstructured.Unstructured, error) {
	if lc == nil {
		return nil, errors.New("the cluster is not connected")
	}
	obj := &unstructured.Unstructured{}
	obj.SetGroupVersionKind(r.Type.Target)
	// Resource version 0 lets the API server answer from its watch cache instead of a quorum
	// read of etcd. An object made a moment ago may be missed, as one made a moment after any
	// read would be.
	if err := lc.Get(ctx, r.targetKey(s.fed), obj, &client.GetOptions{Raw: &metav1.GetOptions{ResourceVersion: "0"}}); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, err
	}
	return obj, nil
}

// targetKey is the member object's key: the federated object's name, and its namespace for
// namespaced targets.
func (r *SyncReconciler) targetKey(fed *unstructured.Unstructured) client.ObjectKey {
	if r.Type.Namespaced {
		return client.ObjectKey{Namespace: fed.GetNamespace(), Name: fed.GetName()}
	}
	return client.ObjectKey{Name: fed.GetName()}
}

// render builds the object one cluster should have, given its current copy (nil when none).
func (r *SyncReconciler) render(s *scope, name string, existing *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	ops, err := overrides.ForCluster(s.spec.Overrides, name)
	if err != nil {
		return nil, err
	}
	out, err := overrides.Render(overrides.Input{
		Template: s.template, APIVersion: r.Type.Target.GroupVersion().String(), Kind: r.Type.Target.Kind,
		Name: s.fed.GetName(), Namespace: s.fed.GetNamespace(), Namespaced: r.Type.Namespaced, Overrides: ops,
	})
	if err != nil {
		return nil, err
	}
	retain, _, _ := unstructured.NestedBool(s.fed.Object, "spec", "retainReplicas")
	if err := Finish(out.Object, r.ControlPlaneID, name, retain, existing); err != nil {
		return nil, err
	}
	return out.Object, nil
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
		if err := cl.Apply(ctx, client.ApplyConfigurationFromUnstructured(obj), client.FieldOwner(FieldOwner), client.ForceOwnership); err != nil {
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
			return nil, fmt.Errorf("the preconditions of annotation %s do not hold for the member object: %s", DeleteOptionAnnotation, err.Error())
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
		"labels":      map[string]any{ManagedLabel: nil},
		"annotations": map[string]any{ControlPlaneAnnotation: nil, ClusterAnnotation: nil, AppliedAnnotation: nil},
	}
	if rv := obj.GetResourceVersion(); rv != "" {
		meta["resourceVersion"] = rv
	}
	patch, err := json.Marshal(map[string]any{"metadata": meta})
	if err != nil {
		return err
	}
	return client.IgnoreNotFound(cl.Patch(ctx, obj.DeepCopy(), client.RawPatch(types.MergePatchType, patch), client.FieldOwner(FieldOwner)))
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
	type stray struct {
		cluster string
		cl      client.Client
		obj     *unstructured.Unstructured
	}
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
	if len(errs) > 0 {
		return reconcile.Result{}, errors.Join(errs...)
	}
	return result, nil
}

// readyClusters tells which registered clusters are Ready.
func (r *SyncReconciler) readyClusters(ctx context.Context) (map[string]bool, error) {
	list := &corev1beta1.KubeFedClusterList{}
	if err := r.Client.List(ctx, list, client.InNamespace(r.Namespace)); err != nil {
		return nil, fmt.Errorf("failed to list the KubeFedClusters: %w", err)
	}
	ready := map[string]bool{}
	for _, c := range list.Items {
		ready[c.Name] = cluster.IsReady(c.Status)
	}
	return ready, nil
}

// isHostNamespace tells whether a member's namespace is the host's own namespace of the same
// name (the host is joined as a member), by comparing UIDs.
func (r *SyncReconciler) isHostNamespace(ctx context.Context, member *unstructured.Unstructured) (bool, error) {
	ns := &corev1.Namespace{}
	if err := r.APIReader.Get(ctx, client.ObjectKey{Name: member.GetName()}, ns); err != nil {
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return false, fmt.Errorf("failed to read the host's namespace %s: %w", member.GetName(), err)
	}
	return ns.UID == member.GetUID(), nil
}

// deleteOptions reads the kubefed.io/deleteoption annotation. A dry run is refused: the copy
// would never be deleted, and the federated object would wait for it forever.
func deleteOptions(fed *unstructured.Unstructured) (*metav1.DeleteOptions, error) {
	opts := &metav1.DeleteOptions{}
	raw, ok := fed.GetAnnotations()[DeleteOptionAnnotation]
	if !ok || raw == "" {
		return opts, nil
	}
	if err := json.Unmarshal([]byte(raw), opts); err != nil {
		return nil, reconcile.TerminalError(fmt.Errorf("annotation %s is not valid DeleteOptions JSON: %w", DeleteOptionAnnotation, err))
	}
	if len(opts.DryRun) > 0 {
		return nil, reconcile.TerminalError(fmt.Errorf("annotation %s: dryRun is not supported: a dry-run delete never removes the member object", DeleteOptionAnnotation))
	}
	return opts, nil
}

// userPreconditions tells whether the kubefed.io/deleteoption annotation sets a
// resourceVersion precondition, the one the member's API server checks that fedplane does
// not.
func userPreconditions(fed *unstructured.Unstructured) bool {
	opts, err := deleteOptions(fed)
	return err == nil && opts.Preconditions != nil && opts.Preconditions.ResourceVersion != nil
}

// memberDeleteOptions are the options of the DELETE of a member object: those of the
// kubefed.io/deleteoption annotation, with a UID precondition on the object that was read, so
// that an object that replaced it is never deleted. A UID the annotation sets must be that
// one. controller-runtime builds the request's options from its typed fields and overwrites
// the raw ones with them, so every field the annotation sets is given in both.
func memberDeleteOptions(fed, existing *unstructured.Unstructured) (*client.DeleteOptions, error) {
	raw, err := deleteOptions(fed)
	if err != nil {
		return nil, err
	}
	uid := existing.GetUID()
	if raw.Preconditions == nil {
		raw.Preconditions = &metav1.Preconditions{}
	}
	if p := raw.Preconditions.UID; p != nil && *p != uid {
		return nil, fmt.Errorf("annotation %s: preconditions.uid %s is not the UID of the member object (%s)", DeleteOptionAnnotation, *p, uid)
	}
	raw.Preconditions.UID = &uid
	return &client.DeleteOptions{
		GracePeriodSeconds: raw.GracePeriodSeconds,
		Preconditions:      raw.Preconditions,
		PropagationPolicy:  raw.PropagationPolicy,
		Raw:                raw,
	}, nil
}

// remoteStatus is the member object's status, for types that collect it.
func (r *SyncReconciler) remoteStatus(obj *unstructured.Unstructured) *typesv1beta1.Raw {
	if !r.Type.StatusCollection {
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

// writeStatus writes the federated object's status when it changed.
func (r *SyncReconciler) writeStatus(ctx context.Context, s *scope, results []clusterResult) error {
	in := StatusInput{Generation: s.fed.GetGeneration(), Reason: s.reason, Now: r.now().UTC().Format(time.RFC3339)}
	for _, res := range results {
		in.Written = in.Written || res.written
		if res.replicas != nil {
			in.Replicas = ptr.To(ptr.Deref(in.Replicas, 0) + *res.replicas)
			in.ReadyReplicas = ptr.To(ptr.Deref(in.ReadyReplicas, 0) + *res.ready)
		}
		if !res.decision.Listed {
			continue
		}
		in.Clusters = append(in.Clusters, typesv1beta1.ClusterStatus{Name: res.name, Status: res.status, RemoteStatus: res.remoteStatus})
	}
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
	// Later writes in this reconcile (the finalizer's removal) lock on the new version.
	s.fed.SetResourceVersion(obj.GetResourceVersion())
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
	for _, f := range []string{"observedGeneration", "conditions", "clusters", "replicas", "readyReplicas"} {
		if _, ok := fields[f]; !ok {
			fields[f] = nil
		}
	}
	return json.Marshal(map[string]any{"status": fields})
}

func (r *SyncReconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// newVersion returns an empty (Cluster)PropagatedVersion with the object's version's key.
func (r *SyncReconciler) newVersion(fed *unstructured.Unstructured) client.Object {
	name := PropagatedVersionName(r.Type.Target.Kind, fed.GetName())
	if fed.GetNamespace() == "" {
		return &corev1alpha1.ClusterPropagatedVersion{ObjectMeta: metav1.ObjectMeta{Name: name}}
	}
	return &corev1alpha1.PropagatedVersion{ObjectMeta: metav1.ObjectMeta{Namespace: fed.GetNamespace(), Name: name}}
}

func versionStatus(obj client.Object) *corev1alpha1.PropagatedVersionStatus {
	switch v := obj.(type) {
	case *corev1alpha1.PropagatedVersion:
		return &v.Status
	case *corev1alpha1.ClusterPropagatedVersion:
		return &v.Status
	}
	return nil
}

// writeVersion records the template and overrides versions and the member objects' versions,
// as KubeFed's PropagatedVersion does, when they changed.
func (r *SyncReconciler) writeVersion(ctx context.Context, s *scope, results []clusterResult) error {
	tv, err := TemplateVersion(s.fed)
	if err != nil {
		return err
	}
	ov, err := OverridesVersion(s.fed)
	if err != nil {
		return err
	}
	want := corev1alpha1.PropagatedVersionStatus{TemplateVersion: tv, OverrideVersion: ov}
	for _, res := range results {
		if res.version != "" {
			want.ClusterVersions = append(want.ClusterVersions, corev1alpha1.ClusterObjectVersion{ClusterName: res.name, Version: res.version})
		} else if res.decision.Pending && s.recorded[res.name] {
			// A copy not removed yet stays recorded.
			for _, cv := range versionStatus(s.version).ClusterVersions {
				if cv.ClusterName == res.name {
					want.ClusterVersions = append(want.ClusterVersions, cv)
				}
			}
		}
	}
	sort.Slice(want.ClusterVersions, func(i, j int) bool { return want.ClusterVersions[i].ClusterName < want.ClusterVersions[j].ClusterName })
	got := versionStatus(s.version)
	if s.version.GetResourceVersion() != "" && equalVersions(*got, want) {
		return nil
	}
	*versionStatus(s.version) = want
	if s.version.GetResourceVersion() == "" {
		if len(want.ClusterVersions) == 0 {
			return nil
		}
		s.version.SetOwnerReferences([]metav1.OwnerReference{{
			APIVersion: s.fed.GetAPIVersion(), Kind: s.fed.GetKind(), Name: s.fed.GetName(), UID: s.fed.GetUID(),
		}})
		if err := r.Client.Create(ctx, s.version); err != nil {
			return err
		}
	} else if err := r.Client.Update(ctx, s.version); err != nil {
		return err
	}
	if equalVersions(*versionStatus(s.version), want) {
		return nil
	}
	// The installed CRD has a status subresource (KubeFed's does), which dropped the status.
	*versionStatus(s.version) = want
	return r.Client.Status().Update(ctx, s.version)
}

func equalVersions(a, b corev1alpha1.PropagatedVersionStatus) bool {
	if a.TemplateVersion != b.TemplateVersion || a.OverrideVersion != b.OverrideVersion || len(a.ClusterVersions) != len(b.ClusterVersions) {
		return false
	}
	for i := range a.ClusterVersions {
		if a.ClusterVersions[i] != b.ClusterVersions[i] {
			return false
		}
	}
	return true
}

// requeue turns the clusters' outcomes into the reconcile's result: an error (retried with
// backoff) when a write failed, else a delay when a suspended cluster must be tried again.
func requeue(results []clusterResult) (reconcile.Result, error) {
	var errs []error
	var after time.Duration
	for _, res := range results {
		if res.err != nil {
			errs = append(errs, fmt.Errorf("cluster %s: %w", res.name, res.err))
		}
		if res.retry > 0 && (after == 0 || res.retry < after) {
			after = res.retry
		}
	}
	if len(errs) > 0 {
		return reconcile.Result{}, errors.Join(errs...)
	}
	return reconcile.Result{RequeueAfter: after}, nil
}

// pending tells whether a cluster still holds a copy that must go before the federated
// object may.
func pending(results []clusterResult) bool {
	for _, res := range results {
		// An orphaned copy is done once unlabelled; a deleted one only once it is gone.
		if res.decision.Pending && (!res.written || res.decision.Action != ActionOrphan) {
			return true
		}
	}
	return false
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

func pastTense(a Action) string {
	switch a {
	case ActionCreate:
		return "Created"
	case ActionUpdate:
		return "Updated"
	case ActionDelete:
		return "Deleted"
	default:
		return "Orphaned"
	}
}
