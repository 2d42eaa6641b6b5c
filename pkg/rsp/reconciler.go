package rsp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	corev1beta1 "github.com/fedplane/fedplane/api/core/v1beta1"
	schedulingv1alpha1 "github.com/fedplane/fedplane/api/scheduling/v1alpha1"
	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
	"github.com/fedplane/fedplane/pkg/cluster"
	"github.com/fedplane/fedplane/pkg/conflict"
	"github.com/fedplane/fedplane/pkg/hostview"
	"github.com/fedplane/fedplane/pkg/kubefedconfig"
	"github.com/fedplane/fedplane/pkg/placement"
	"github.com/fedplane/fedplane/pkg/rsp/schedule"
)

// DefaultMemberTimeout bounds the reads of one member's workload state.
const DefaultMemberTimeout = 10 * time.Second

// unknownRecheck is how soon a preference is planned again when a member's state could not be
// read.
const unknownRecheck = 5 * time.Second

// Target is a kind that a preference can govern: the federated kind in the host and the
// workload kind in the members.
type Target struct {
	Federated schema.GroupVersionKind
	Member    schema.GroupVersionKind
}

// Targets are the kinds that a preference's targetKind names.
var Targets = map[string]Target{
	"FederatedDeployment": {
		Federated: typesv1beta1.GroupVersion.WithKind("FederatedDeployment"),
		Member:    schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"},
	},
	"FederatedReplicaSet": {
		Federated: typesv1beta1.GroupVersion.WithKind("FederatedReplicaSet"),
		Member:    schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "ReplicaSet"},
	},
}

// Reconciler spreads the replicas of the target of each ReplicaSchedulingPreference.
type Reconciler struct {
	// Client reads the host from the manager's cache and writes it.
	Client client.Client
	// Members gives the member clusters' clients and caches.
	Members *cluster.Cache
	// Recorder records an event on the preference whenever its plan changes.
	Recorder events.EventRecorder
	// Namespace is the control plane's namespace, where the KubeFedClusters are.
	Namespace string
	// MemberTimeout bounds the reads of each member; DefaultMemberTimeout when zero.
	MemberTimeout time.Duration
	// UnschedulableThreshold is how long pods must be unschedulable before their cluster
	// counts as out of room; DefaultUnschedulableThreshold when zero.
	UnschedulableThreshold time.Duration
	// Metrics records the plans; nil records nothing.
	Metrics *Metrics
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// scope is what one reconcile of one preference reads and decides.
type scope struct {
	rsp      *schedulingv1alpha1.ReplicaSchedulingPreference
	target   *unstructured.Unstructured
	spec     typesv1beta1.FederatedSpec
	kind     Target
	clusters placement.Input
	// candidates are the clusters the replicas are spread over, found once per reconcile.
	candidates []string
	states     map[string]memberState
	planned    schedule.Scheduled
	// capacity is the estimated capacity of the candidates that are out of room.
	capacity map[string]int64
	// status, reason and message make the Planned condition; plan is set once planned.
	status          metav1.ConditionStatus
	reason, message string
	plan            map[string]int64
	recheck         time.Duration
}

// memberState is the workload's state in one member.
type memberState struct {
	schedule.MemberState
	// ready counts the pods that run and are ready.
	ready int64
	// recheck, when not zero, is when to look again at pods not yet unschedulable for long.
	recheck time.Duration
	// err says why the member could not be read.
	err error
}

// Reconcile plans the replicas of one preference's target and writes the plan.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	rsp := &schedulingv1alpha1.ReplicaSchedulingPreference{}
	if err := r.Client.Get(ctx, req.NamespacedName, rsp); err != nil {
		if apierrors.IsNotFound(err) {
			r.Metrics.forget(req.Namespace, req.Name)
		}
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	ctx = ctrl.LoggerInto(ctx, ctrl.LoggerFrom(ctx).WithValues("replicaschedulingpreference", klog.KObj(rsp)))
	s := &scope{rsp: rsp}
	before := rsp.DeepCopy()
	result, err := r.run(ctx, s)
	werr := r.writeStatus(ctx, s, before)
	if werr == nil && s.plan != nil {
		// The status records the plan that the target now has: what moved is told once.
		r.record(ctx, s, before.Status)
	}
	// A race means that the cache was behind: the preference is planned again shortly.
	return conflict.Join(ctx, "write the status", result, err, werr)
}

// run reads, plans and writes the target; the status is left to the caller.
func (r *Reconciler) run(ctx context.Context, s *scope) (reconcile.Result, error) {
	if done, err := r.checkGate(ctx, s); done || err != nil {
		return reconcile.Result{}, err
	}
	if done, err := r.readTarget(ctx, s); done || err != nil {
		return reconcile.Result{}, err
	}
	if err := r.readClusters(ctx, s); err != nil {
		return reconcile.Result{}, fmt.Errorf("failed to read the clusters: %w", err)
	}
	candidates, err := schedule.Candidates(s.rsp.Spec, s.spec.Placement, s.clusters)
	if err != nil {
		s.status, s.reason, s.message = metav1.ConditionFalse, ReasonInvalidPreference, err.Error()
		return reconcile.Result{}, reconcile.TerminalError(err)
	}
	s.candidates = candidates
	s.states = r.readMembers(ctx, s, candidates)
	if err := r.schedule(ctx, s); err != nil {
		s.status, s.reason, s.message = metav1.ConditionFalse, ReasonInvalidPreference, err.Error()
		return reconcile.Result{}, reconcile.TerminalError(err)
	}
	if len(s.planned.Candidates) == 0 {
		s.status, s.reason = metav1.ConditionFalse, ReasonNoReadyClusters
		s.message = "No candidate cluster: " + schedule.NoCandidates(s.rsp.Spec, s.clusters) + "; the target is left as it is"
		return reconcile.Result{}, nil
	}
	if err := r.apply(ctx, s); err != nil {
		if !conflict.Is(err) {
			s.status, s.reason, s.message = metav1.ConditionFalse, ReasonUpdateFailed, err.Error()
		}
		// A target changed meanwhile is planned again shortly, from the new one; the status
		// stays as it was until then.
		return conflict.Retry(ctx, "write the target", err)
	}
	return reconcile.Result{RequeueAfter: s.recheck}, nil
}

// checkGate reads the KubeFedConfig; done is set when its SchedulerPreferences feature gate
// is Disabled, so that nothing is planned until it is Enabled again.
func (r *Reconciler) checkGate(ctx context.Context, s *scope) (done bool, err error) {
	settings, err := kubefedconfig.Read(ctx, r.Client, r.Namespace)
	if err != nil {
		return true, fmt.Errorf("failed to read the settings: %w", err)
	}
	if settings.FeatureGates.SchedulerPreferences {
		return false, nil
	}
	s.status, s.reason = metav1.ConditionFalse, ReasonSchedulerPreferencesDisabled
	s.message = fmt.Sprintf("The KubeFedConfig %s/%s disables the %s feature gate; the target is left as it is",
		r.Namespace, corev1beta1.DefaultConfigName, kubefedconfig.GateSchedulerPreferences)
	return true, nil
}

// readTarget reads the target; done is set when there is nothing to plan.
func (r *Reconciler) readTarget(ctx context.Context, s *scope) (done bool, err error) {
	kind, ok := Targets[s.rsp.Spec.TargetKind]
	if !ok {
		s.status, s.reason = metav1.ConditionFalse, ReasonInvalidPreference
		s.message = fmt.Sprintf("spec.targetKind %q is not FederatedDeployment or FederatedReplicaSet", s.rsp.Spec.TargetKind)
		return true, nil
	}
	s.kind = kind
	s.target = &unstructured.Unstructured{}
	s.target.SetGroupVersionKind(kind.Federated)
	switch err := r.Client.Get(ctx, client.ObjectKeyFromObject(s.rsp), s.target); {
	case apierrors.IsNotFound(err) || meta.IsNoMatchError(err):
		s.status, s.reason = metav1.ConditionFalse, ReasonTargetNotFound
		s.message = fmt.Sprintf("%s %s/%s not found", kind.Federated.Kind, s.rsp.Namespace, s.rsp.Name)
		return true, nil
	case err != nil:
		return true, fmt.Errorf("failed to read the target: %w", err)
	}
	if s.target.GetDeletionTimestamp() != nil {
		s.status, s.reason, s.message = metav1.ConditionFalse, ReasonTargetDeleting, "The target is being deleted"
		return true, nil
	}
	if err := hostview.FromUnstructured(s.target.Object["spec"], &s.spec); err != nil {
		s.status, s.reason = metav1.ConditionFalse, ReasonInvalidPreference
		s.message = fmt.Sprintf("the target's spec cannot be read: %v", err)
		return true, nil
	}
	return false, nil
}

// readClusters reads the registered clusters and the target's namespace placement.
func (r *Reconciler) readClusters(ctx context.Context, s *scope) error {
	clusters, err := hostview.ListPlacementClusters(ctx, r.Client, r.Namespace)
	if err != nil {
		return err
	}
	nsPlacement, err := hostview.NamespacePlacement(ctx, r.Client, s.rsp.Namespace)
	if err != nil {
		return err
	}
	s.clusters = placement.Input{Namespaced: true, NamespacePlacement: nsPlacement, Clusters: clusters}
	return nil
}

// readMembers reads the workload's state in every candidate in parallel, each with its own
// timeout; a member that does not answer in time is unknown and holds up nothing.
func (r *Reconciler) readMembers(ctx context.Context, s *scope, candidates []string) map[string]memberState {
	states := make(map[string]memberState, len(candidates))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, name := range candidates {
		wg.Go(func() {
			st := r.readMember(ctx, s, name)
			mu.Lock()
			states[name] = st
			mu.Unlock()
		})
	}
	wg.Wait()
	return states
}

func (r *Reconciler) readMember(ctx context.Context, s *scope, name string) memberState {
	if r.Members.Suspended(name) > 0 {
		return memberState{err: errors.New("the cluster is suspended after a timeout")}
	}
	cached, ok1 := r.Members.Client(name)
	live, ok2 := r.Members.LiveClient(name)
	if !ok1 || !ok2 {
		return memberState{err: errors.New("the cluster is not connected")}
	}
	timeout := r.MemberTimeout
	if timeout <= 0 {
		timeout = DefaultMemberTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	obj := &unstructured.Unstructured{}
	obj.SetGroupVersionKind(s.kind.Member)
	// The read waits, within the member timeout, for the cache to list the workloads: a plan
	// made while a member's state is unknown would stick when rebalance is off.
	switch err := cached.Get(ctx, client.ObjectKeyFromObject(s.rsp), obj); {
	case apierrors.IsNotFound(err):
		return memberState{MemberState: schedule.MemberState{Known: true}}
	case err != nil:
		return memberState{err: err}
	}
	st := memberState{MemberState: schedule.MemberState{Known: true, Exists: true}}
	st.Replicas, _, _ = unstructured.NestedInt64(obj.Object, "spec", "replicas")
	ready, _, _ := unstructured.NestedInt64(obj.Object, "status", "readyReplicas")
	total, _, _ := unstructured.NestedInt64(obj.Object, "status", "replicas")
	observed, _, _ := unstructured.NestedInt64(obj.Object, "status", "observedGeneration")
	if observed >= obj.GetGeneration() && st.Replicas == ready && total == ready {
		// Every pod is ready and none is pending: no need to look at the pods.
		st.ready = ready
		return st
	}
	var sel metav1.LabelSelector
	raw, _, _ := unstructured.NestedFieldNoCopy(obj.Object, "spec", "selector")
	if err := hostview.FromUnstructured(raw, &sel); err != nil {
		return memberState{err: fmt.Errorf("spec.selector: %w", err)}
	}
	selector, err := metav1.LabelSelectorAsSelector(&sel)
	if err != nil {
		return memberState{err: fmt.Errorf("spec.selector: %w", err)}
	}
	pods := &corev1.PodList{}
	if err := live.List(ctx, pods, client.InNamespace(s.rsp.Namespace), client.MatchingLabelsSelector{Selector: selector}); err != nil {
		return memberState{err: fmt.Errorf("failed to list pods: %w", err)}
	}
	counts := AnalyzePods(pods.Items, r.now(), r.threshold())
	st.ready, st.Unschedulable, st.recheck = counts.RunningAndReady, counts.Unschedulable, counts.Recheck
	return st
}

// schedule decides with schedule.MemberReplicas and schedule.Schedule over the candidates found
// before the members were read. A member that could not be read is looked at again soon.
func (r *Reconciler) schedule(ctx context.Context, s *scope) error {
	states := make(map[string]schedule.MemberState, len(s.states))
	for _, name := range slices.Sorted(maps.Keys(s.states)) {
		st := s.states[name]
		states[name] = st.MemberState
		s.recheck = minPositive(s.recheck, st.recheck)
		if !st.Known {
			s.recheck = minPositive(s.recheck, unknownRecheck)
			ctrl.LoggerFrom(ctx).Info("the workload's state in the member is unknown; its replicas stay as they are", "cluster", name, "reason", st.err)
		}
	}
	current, capacity := schedule.MemberReplicas(states, s.spec.Overrides)
	s.capacity = capacity
	planned, err := schedule.Schedule(schedule.Input{
		Preference: s.rsp, Target: s.spec, Clusters: s.clusters.Clusters, Candidates: s.candidates,
		CurrentReplicas: current, EstimatedCapacity: capacity,
	})
	if err != nil {
		return err
	}
	s.planned = planned
	return nil
}

// apply writes the target's placement and overrides when they differ from the plan, with the
// target's resourceVersion, so that a change made meanwhile is never overwritten.
func (r *Reconciler) apply(ctx context.Context, s *scope) error {
	p := s.planned
	if !p.Changed {
		s.applied()
		return nil
	}
	clusters := make([]any, 0, len(p.Placement.Clusters))
	for _, c := range p.Placement.Clusters {
		clusters = append(clusters, map[string]any{"name": c.Name})
	}
	var overrides []any
	b, err := json.Marshal(p.Overrides)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, &overrides); err != nil {
		return err
	}
	target := s.target.DeepCopy()
	if err := unstructured.SetNestedSlice(target.Object, clusters, "spec", "placement", "clusters"); err != nil {
		return err
	}
	if err := unstructured.SetNestedSlice(target.Object, overrides, "spec", "overrides"); err != nil {
		return err
	}
	patch := client.MergeFromWithOptions(s.target, client.MergeFromWithOptimisticLock{})
	if err := r.Client.Patch(ctx, target, patch); err != nil {
		return err
	}
	ctrl.LoggerFrom(ctx).Info("target updated", "candidates", p.Candidates, "kept", p.Kept, "replicas", p.Result.Replicas)
	s.applied()
	return nil
}

// applied records that the target has the plan.
func (s *scope) applied() {
	s.plan = s.planned.Result.Plan
	s.status, s.reason, s.message = metav1.ConditionTrue, ReasonApplied, appliedMessage(s)
}

// appliedMessage says where the replicas are planned, and which clusters are kept aside.
func appliedMessage(s *scope) string {
	p := s.planned
	var parts []string
	for _, name := range p.Candidates {
		part := fmt.Sprintf("%s %d", name, p.Result.Plan[name])
		if o := p.Result.Overflow[name]; o > 0 {
			part += fmt.Sprintf(" (+%d that do not fit)", o)
		}
		parts = append(parts, part)
	}
	msg := "Replicas planned: " + strings.Join(parts, ", ")
	if len(p.Kept) > 0 {
		msg += fmt.Sprintf("; not Ready, kept as they are: %s", strings.Join(p.Kept, ", "))
	}
	var unknown []string
	for _, name := range slices.Sorted(maps.Keys(s.states)) {
		if !s.states[name].Known {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		msg += fmt.Sprintf("; state unknown: %s", strings.Join(unknown, ", "))
	}
	return msg
}

// record emits an event and updates the metrics when the plan changed from the one that the
// status recorded before.
func (r *Reconciler) record(ctx context.Context, s *scope, before schedulingv1alpha1.ReplicaSchedulingPreferenceStatus) {
	prev := previousPlan(before)
	var notReady, returned []string
	for _, c := range s.clusters.Clusters {
		if !c.Ready {
			notReady = append(notReady, c.Name)
		}
	}
	for _, ref := range s.spec.Placement.Clusters {
		if _, was := prev[ref.Name]; !was && slices.Contains(s.planned.Candidates, ref.Name) && len(prev) > 0 {
			returned = append(returned, ref.Name)
		}
	}
	slices.Sort(returned)
	m, ok := describeMove(moveInput{Prev: prev, Next: s.plan, NotReady: notReady, Returned: returned, Capacity: s.capacity})
	r.Metrics.setPlan(s.rsp.Namespace, s.rsp.Name, s.plan)
	if !ok {
		return
	}
	r.Metrics.countFailover(m.FailedOver)
	r.Recorder.Eventf(s.rsp, s.target, corev1.EventTypeNormal, m.Reason, "Schedule", "%s", m.Message)
	ctrl.LoggerFrom(ctx).Info("replicas moved", "reason", m.Reason, "moves", m.Message)
}

// writeStatus writes the status when it changed.
func (r *Reconciler) writeStatus(ctx context.Context, s *scope, before *schedulingv1alpha1.ReplicaSchedulingPreference) error {
	if s.reason == "" {
		return nil
	}
	in := statusInput{Generation: s.rsp.Generation, Plan: s.plan, Status: s.status, Reason: s.reason, Message: s.message, Now: r.now()}
	if s.plan != nil {
		in.Ready = map[string]int64{}
		for name, st := range s.states {
			in.Ready[name] = st.ready
		}
	}
	setStatus(&s.rsp.Status, in)
	if equality.Semantic.DeepEqual(before.Status, s.rsp.Status) {
		return nil
	}
	// The resourceVersion makes a write from a stale read fail, so that a move is never told
	// twice or lost.
	return client.IgnoreNotFound(r.Client.Status().Patch(ctx, s.rsp, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})))
}

func (r *Reconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Reconciler) threshold() time.Duration {
	if r.UnschedulableThreshold > 0 {
		return r.UnschedulableThreshold
	}
	return DefaultUnschedulableThreshold
}

func minPositive(a, b time.Duration) time.Duration {
	switch {
	case a <= 0:
		return b
	case b <= 0:
		return a
	default:
		return min(a, b)
	}
}
