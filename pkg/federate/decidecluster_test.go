package federate

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"

	"github.com/fedplane/fedplane/api/contract"
	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
	"github.com/fedplane/fedplane/pkg/placement"
)

// configMapType is the federated type of the cases: ConfigMaps, optionally with their remote
// status collected.
func configMapType(statusCollection bool) Type {
	return Type{
		Name: "configmaps", Target: schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, Resource: "configmaps", Namespaced: true,
		Federated:        schema.GroupVersionKind{Group: typesv1beta1.GroupVersion.Group, Version: typesv1beta1.GroupVersion.Version, Kind: "FederatedConfigMap"},
		StatusCollection: statusCollection,
	}
}

// fedBuilder builds a FederatedConfigMap, and the scope a reconcile reads from it, fluently.
type fedBuilder struct{ u *unstructured.Unstructured }

func newFed() *fedBuilder {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": typesv1beta1.GroupVersion.String(), "kind": "FederatedConfigMap",
		"metadata": map[string]any{"name": "settings", "namespace": "default", "generation": int64(1), "resourceVersion": "7"},
		"spec": map[string]any{
			"template":  map[string]any{"data": map[string]any{"mode": "fast"}},
			"placement": map[string]any{"clusters": []any{map[string]any{"name": thisCluster}}},
		},
	}}
	return &fedBuilder{u: u}
}

func (b *fedBuilder) set(value any, path ...string) *fedBuilder {
	if err := unstructured.SetNestedField(b.u.Object, value, path...); err != nil {
		panic(err)
	}
	return b
}

// overrides sets the overrides of thisCluster.
func (b *fedBuilder) overrides(ops ...map[string]any) *fedBuilder {
	list := make([]any, 0, len(ops))
	for _, op := range ops {
		list = append(list, op)
	}
	return b.set([]any{map[string]any{"clusterName": thisCluster, "clusterOverrides": list}}, "spec", "overrides")
}

func (b *fedBuilder) deleting() *fedBuilder {
	ts := metav1.Unix(1700000000, 0)
	b.u.SetDeletionTimestamp(&ts)
	b.u.SetFinalizers([]string{contract.SyncFinalizer})
	return b
}

func (b *fedBuilder) build() *unstructured.Unstructured { return b.u.DeepCopy() }

// scope is the scope that read gives for the object.
func (b *fedBuilder) scope(t *testing.T) *scope {
	t.Helper()
	s := newScope(b.build())
	if err := (&SyncReconciler{}).readObject(s); err != nil {
		t.Fatalf("readObject: %v", err)
	}
	return s
}

// decided is what a case looks at in a cluster's outcome.
type decided struct {
	Decision      ClusterDecision
	Status        typesv1beta1.PropagationStatus
	Replicas      *int64
	Ready         *int64
	Stale         *int64
	Version       string
	Rendered      bool
	Events        []string
	Err, Busy     bool
	Written       bool
	Retry         time.Duration
	RemoteStatus  bool
	RenderedLabel string
	// RenderedCluster is the rendered object's data.cluster, which the template-values cases
	// fill in.
	RenderedCluster string
}

func decidedOf(in ClusterInput, res clusterResult) decided {
	out := decided{
		Decision: res.decision, Status: res.status, Replicas: res.replicas, Ready: res.ready, Stale: res.stale, Version: res.version,
		Rendered: in.Desired != nil, Err: res.err != nil, Busy: res.busy, Written: res.written, Retry: res.retry,
		RemoteStatus: res.remoteStatus != nil,
	}
	for _, e := range res.events {
		out.Events = append(out.Events, e.kind+" "+e.reason)
	}
	if in.Desired != nil {
		out.RenderedLabel = in.Desired.GetLabels()[contract.ManagedLabel]
		out.RenderedCluster, _, _ = unstructured.NestedString(in.Desired.Object, "data", "cluster")
	}
	return out
}

func TestDecideCluster(t *testing.T) {
	selected := placement.Decision{Name: thisCluster, Selected: true, Ready: true}
	notSelected := placement.Decision{Name: thisCluster, Ready: true, Reason: placement.NotInClusterList}
	ready := ClusterInput{Selected: true, Ready: true, ControlPlaneID: thisControlPlane, ClusterName: thisCluster, AdoptResources: true}
	// selectedNotReady is a selected cluster whose registration is not Ready; notReady is a
	// selected cluster that cannot be written to: not Ready, not connected or suspended.
	selectedNotReady := placement.Decision{Name: thisCluster, Selected: true}
	notReady := ready
	notReady.Ready = false
	removing := ClusterInput{Ready: true, ControlPlaneID: thisControlPlane, ClusterName: thisCluster, MayHaveCopy: true}
	withCopy := func(in ClusterInput, copy *object) ClusterInput { in.Existing = copy.build(); return in }
	cases := []struct {
		name    string
		fed     *fedBuilder
		collect bool
		// rawGateOff turns the RawResourceStatusCollection feature gate off.
		rawGateOff bool
		d          placement.Decision
		in         ClusterInput
		previously typesv1beta1.PropagationStatus
		want       decided
	}{
		{
			name: "a selected Ready cluster without a copy gets the rendered object, labelled managed",
			fed:  newFed(), d: selected, in: ready,
			want: decided{Decision: createListed, Rendered: true, RenderedLabel: "true"},
		},
		{
			name: "overrides that do not apply give ApplyOverridesFailed and a Warning event",
			fed:  newFed().overrides(map[string]any{"op": "frobnicate", "path": "/data/mode"}), d: selected, in: ready,
			want: decided{
				Decision: ClusterDecision{Action: ActionNone, Status: typesv1beta1.ApplyOverridesFailed, Listed: true},
				Status:   typesv1beta1.ApplyOverridesFailed, Events: []string{"Warning ApplyOverridesFailed"},
			},
		},
		{
			name: "a template whose metadata.labels is not an object gives ComputeResourceFailed, in the status and the event",
			fed:  newFed().set(int64(5), "spec", "template", "metadata", "labels"), d: selected, in: ready,
			want: decided{
				Decision: ClusterDecision{Action: ActionNone, Status: typesv1beta1.ComputeResourceFailed, Listed: true},
				Status:   typesv1beta1.ComputeResourceFailed, Events: []string{"Warning ComputeResourceFailed"},
			},
		},
		{
			name: "a template that cannot be rendered for a copy labelled managed=false says ManagedLabelFalse, with no render event",
			fed:  newFed().set(int64(5), "spec", "template", "metadata", "labels"), d: selected,
			in: withCopy(ready, unmanagedCopy().label(contract.ManagedLabel, "false")),
			want: decided{
				Decision: ClusterDecision{Action: ActionNone, Status: typesv1beta1.ManagedLabelFalse, Listed: true},
				Status:   typesv1beta1.ManagedLabelFalse,
			},
		},
		{
			name: "a cluster no longer selected has its managed copy deleted, and waits for it",
			fed:  newFed(), d: notSelected, in: withCopy(removing, managedCopy()),
			want: decided{Decision: deletePending, Status: typesv1beta1.WaitingForRemoval},
		},
		{
			name: "nothing is rendered for a deleted object",
			fed:  newFed().deleting(), d: selected, in: func() ClusterInput { in := withCopy(removing, managedCopy()); in.Deleting = true; return in }(),
			want: decided{Decision: deletePending, Status: typesv1beta1.WaitingForRemoval},
		},
		{
			name: "a copy written for another registration is fenced, with an event when that is new",
			fed:  newFed(), d: selected, in: withCopy(ready, managedCopy().annotate(contract.ClusterAnnotation, aliasCluster)),
			want: decided{
				Decision: ClusterDecision{Action: ActionNone, Status: typesv1beta1.ManagedForAnotherCluster, Listed: true},
				Status:   typesv1beta1.ManagedForAnotherCluster, Rendered: true, RenderedLabel: "true",
				Events: []string{"Warning ManagedForAnotherCluster"},
			},
		},
		{
			name: "a fenced copy already reported is reported without a new event",
			fed:  newFed(), d: selected, in: withCopy(ready, managedCopy().annotate(contract.ClusterAnnotation, aliasCluster)),
			previously: typesv1beta1.ManagedForAnotherCluster,
			want: decided{
				Decision: ClusterDecision{Action: ActionNone, Status: typesv1beta1.ManagedForAnotherCluster, Listed: true},
				Status:   typesv1beta1.ManagedForAnotherCluster, Rendered: true, RenderedLabel: "true",
			},
		},
		{
			name: "with status collection, the desired replicas are the rendered ones, the ready ones and the remote status the copy's",
			fed:  newFed().set(int64(4), "spec", "template", "spec", "replicas"), collect: true, d: selected,
			in: withCopy(ready, managedCopy().set(int64(3), "spec", "replicas").set(int64(2), "status", "readyReplicas")),
			want: decided{
				Decision: updateListed, Replicas: ptr.To[int64](4), Ready: ptr.To[int64](2), Version: "gen:1", RemoteStatus: true,
				Rendered: true, RenderedLabel: "true",
			},
		},
		{
			name: "with status collection and the RawResourceStatusCollection gate off, the replicas are counted and the remote status is not copied",
			fed:  newFed().set(int64(4), "spec", "template", "spec", "replicas"), collect: true, rawGateOff: true, d: selected,
			in: withCopy(ready, managedCopy().set(int64(3), "spec", "replicas").set(int64(2), "status", "readyReplicas")),
			want: decided{
				Decision: updateListed, Replicas: ptr.To[int64](4), Ready: ptr.To[int64](2), Version: "gen:1",
				Rendered: true, RenderedLabel: "true",
			},
		},
		{
			name: "with status collection, a selected cluster that is not Ready desires nothing: its copy's replicas are stale",
			fed:  newFed().set(int64(4), "spec", "template", "spec", "replicas"), collect: true, d: selectedNotReady,
			in: withCopy(notReady, managedCopy().set(int64(3), "spec", "replicas").set(int64(2), "status", "readyReplicas")),
			want: decided{
				Decision: ClusterDecision{Action: ActionNone, Status: typesv1beta1.ClusterNotReady, Listed: true},
				Status:   typesv1beta1.ClusterNotReady, Stale: ptr.To[int64](3),
			},
		},
		{
			name: "with status collection, a Ready cluster that cannot be written to now still desires the rendered replicas",
			fed:  newFed().set(int64(4), "spec", "template", "spec", "replicas"), collect: true, d: selected,
			in: withCopy(notReady, managedCopy().set(int64(3), "spec", "replicas").set(int64(2), "status", "readyReplicas")),
			want: decided{
				Decision: ClusterDecision{Action: ActionNone, Status: typesv1beta1.ClusterNotReady, Listed: true},
				Status:   typesv1beta1.ClusterNotReady, Replicas: ptr.To[int64](4), Ready: ptr.To[int64](2),
			},
		},
		{
			name: "a template value that cannot be filled in for the cluster gives ApplyOverridesFailed and a Warning event",
			fed: newFed().set(map[string]any{contract.TemplateValuesAnnotation: "true"}, "metadata", "annotations").
				set(map[string]any{"zone": "{{ .labels.zone }}"}, "spec", "template", "data"), d: selected, in: ready,
			want: decided{
				Decision: ClusterDecision{Action: ActionNone, Status: typesv1beta1.ApplyOverridesFailed, Listed: true},
				Status:   typesv1beta1.ApplyOverridesFailed, Events: []string{"Warning ApplyOverridesFailed"},
			},
		},
		{
			name: "a template value is filled in for the cluster",
			fed: newFed().set(map[string]any{contract.TemplateValuesAnnotation: "true"}, "metadata", "annotations").
				set(map[string]any{"cluster": "{{ .cluster }}"}, "spec", "template", "data"), d: selected, in: ready,
			want: decided{Decision: createListed, Rendered: true, RenderedLabel: "true", RenderedCluster: thisCluster},
		},
		{
			name: "with status collection, overrides that do not apply desire nothing, whatever the copy runs",
			fed: newFed().set(int64(4), "spec", "template", "spec", "replicas").
				overrides(map[string]any{"op": "frobnicate", "path": "/spec/replicas"}), collect: true, d: selected,
			in: withCopy(ready, managedCopy().set(int64(3), "spec", "replicas").set(int64(2), "status", "readyReplicas")),
			want: decided{
				Decision: ClusterDecision{Action: ActionNone, Status: typesv1beta1.ApplyOverridesFailed, Listed: true},
				Status:   typesv1beta1.ApplyOverridesFailed, Events: []string{"Warning ApplyOverridesFailed"},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := &SyncReconciler{Type: configMapType(tc.collect), ControlPlaneID: thisControlPlane}
			s := tc.fed.scope(t)
			s.rawStatus = !tc.rawGateOff
			if tc.previously != "" {
				s.status.Clusters = []typesv1beta1.ClusterStatus{{Name: thisCluster, Status: tc.previously}}
			}
			in, res := r.decideCluster(s, tc.d, tc.in, clusterResult{name: thisCluster})
			if diff := cmp.Diff(tc.want, decidedOf(in, res)); diff != "" {
				t.Errorf("outcome (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCountReplicas(t *testing.T) {
	ready := ClusterInput{Selected: true, Ready: true, ControlPlaneID: thisControlPlane, ClusterName: thisCluster}
	down := ready
	down.Ready = false
	with := func(in ClusterInput, change func(*ClusterInput)) ClusterInput { change(&in); return in }
	copyOf := func(replicas int64) *object {
		return managedCopy().set(replicas, "spec", "replicas").set(replicas-1, "status", "readyReplicas")
	}
	rendered := desiredConfigMap().set(int64(6), "spec", "replicas").build()
	cases := []struct {
		name     string
		in       ClusterInput
		ready    bool
		rendered *unstructured.Unstructured
		want     replicaCounts
	}{
		{
			name: "a selected Ready cluster desires the rendered replicas, and its copy's ready ones count",
			in:   with(ready, func(in *ClusterInput) { in.Existing = copyOf(4).build() }), ready: true, rendered: rendered,
			want: replicaCounts{desired: ptr.To[int64](6), ready: ptr.To[int64](3)},
		},
		{
			name: "a selected Ready cluster without a copy yet desires the rendered replicas, none ready",
			in:   ready, ready: true, rendered: rendered,
			want: replicaCounts{desired: ptr.To[int64](6), ready: ptr.To[int64](0)},
		},
		{
			name: "a Ready cluster that nothing was rendered for counts nothing, whatever its copy runs",
			in:   with(ready, func(in *ClusterInput) { in.Existing = copyOf(4).build() }), ready: true,
		},
		{
			name: "a rendered object without spec.replicas counts nothing",
			in:   ready, ready: true, rendered: desiredConfigMap().build(),
		},
		{
			name: "a Ready cluster no longer selected counts nothing while its copy is removed",
			in:   with(ready, func(in *ClusterInput) { in.Selected, in.MayHaveCopy, in.Existing = false, true, copyOf(4).build() }), ready: true,
		},
		{
			name: "a deleted object counts nothing in a Ready cluster",
			in:   with(ready, func(in *ClusterInput) { in.Deleting, in.Existing = true, copyOf(4).build() }), ready: true, rendered: rendered,
		},
		{
			name: "a selected cluster that is not Ready desires nothing: its copy's replicas are stale",
			in:   with(down, func(in *ClusterInput) { in.Existing = copyOf(4).build() }),
			want: replicaCounts{stale: ptr.To[int64](4)},
		},
		{
			name: "a copy waiting for removal in a cluster that is not Ready is stale too",
			in:   with(down, func(in *ClusterInput) { in.Selected, in.MayHaveCopy, in.Existing = false, true, copyOf(2).build() }),
			want: replicaCounts{stale: ptr.To[int64](2)},
		},
		{
			name: "a copy of a deleted object in a cluster that is not Ready is stale",
			in:   with(down, func(in *ClusterInput) { in.Deleting, in.MayHaveCopy, in.Existing = true, true, copyOf(2).build() }),
			want: replicaCounts{stale: ptr.To[int64](2)},
		},
		{
			name: "a cluster that is not Ready and holds no copy counts nothing",
			in:   down,
		},
		{
			name: "an object the control plane does not manage is not this object's stale copy",
			in:   with(down, func(in *ClusterInput) { in.Existing = copyOf(4).remove("metadata", "labels").build() }),
		},
		{
			name: "a copy labelled managed=false is not counted",
			in:   with(down, func(in *ClusterInput) { in.Existing = copyOf(4).label(contract.ManagedLabel, "false").build() }),
		},
		{
			name: "another control plane's copy is not counted",
			in:   with(down, func(in *ClusterInput) { in.Existing = copyOf(4).managedBy(otherControlPlane).build() }),
		},
		{
			name: "a copy written for another registration of the cluster is not counted",
			in: with(down, func(in *ClusterInput) {
				in.Existing = copyOf(4).annotate(contract.ClusterAnnotation, aliasCluster).build()
			}),
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := countReplicas(tc.in, tc.ready, tc.rendered, Decide(tc.in).Status)
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(replicaCounts{})); diff != "" {
				t.Errorf("counts (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadResult(t *testing.T) {
	unknown := ClusterDecision{Listed: true, Pending: true}
	cases := []struct {
		name     string
		read     copyRead
		wantStop bool
		want     decided
	}{
		{name: "a copy read goes on to the decision", read: copyRead{}},
		{
			name: "a member with no room for the read is tried again shortly, and the status waits",
			read: copyRead{busy: true}, wantStop: true,
			want: decided{Decision: unknown, Busy: true, Retry: time.Second},
		},
		{
			name: "a member just connected whose cache is still listing is waited for",
			read: copyRead{err: errNotSynced, justConnected: true}, wantStop: true,
			want: decided{Decision: unknown, Busy: true, Retry: time.Second},
		},
		{
			name: "a cache listing for longer than a member request may take says CachedRetrievalFailed",
			read: copyRead{err: errNotSynced}, wantStop: true,
			want: decided{Decision: unknown, Status: typesv1beta1.CachedRetrievalFailed, Retry: time.Second},
		},
		{
			name: "a read that fails says CachedRetrievalFailed and is retried as an error",
			read: copyRead{err: apierrors.NewForbidden(schema.GroupResource{Resource: "configmaps"}, "settings", errors.New("no"))}, wantStop: true,
			want: decided{Decision: unknown, Status: typesv1beta1.CachedRetrievalFailed, Err: true},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, stop := readResult(clusterResult{name: thisCluster}, true, tc.read)
			if stop != tc.wantStop {
				t.Errorf("stop = %t, want %t", stop, tc.wantStop)
			}
			if diff := cmp.Diff(tc.want, decidedOf(ClusterInput{}, res)); diff != "" {
				t.Errorf("outcome (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWriteResult(t *testing.T) {
	terminating := apierrors.NewForbidden(schema.GroupResource{Resource: "configmaps"}, "settings", errors.New("namespace default is being terminated"))
	terminating.ErrStatus.Details.Causes = []metav1.StatusCause{{Type: corev1.NamespaceTerminatingCause}}
	written := managedCopy().set(int64(3), "metadata", "generation").build()
	cases := []struct {
		name   string
		action Action
		obj    *unstructured.Unstructured
		err    error
		want   decided
	}{
		{
			name: "a write done is recorded with the version written", action: ActionUpdate, obj: written,
			want: decided{Decision: ClusterDecision{Action: ActionUpdate, Listed: true}, Written: true, Version: "gen:3"},
		},
		{
			name:   "a conflict (the copy changed since it was read) is read again shortly, without an error",
			action: ActionUpdate, err: apierrors.NewConflict(schema.GroupResource{Resource: "configmaps"}, "settings", errors.New("changed")),
			want: decided{Decision: ClusterDecision{Action: ActionUpdate, Listed: true}, Retry: time.Second},
		},
		{
			name: "an update that times out says UpdateTimedOut, with an event", action: ActionUpdate, err: context.DeadlineExceeded,
			want: decided{
				Decision: ClusterDecision{Action: ActionUpdate, Listed: true}, Status: typesv1beta1.UpdateTimedOut, Err: true,
				Events: []string{"Warning UpdateInClusterFailed"},
			},
		},
		{
			name: "a create refused in a terminating namespace waits for the namespace, not as an error", action: ActionCreate, err: terminating,
			want: decided{
				Decision: ClusterDecision{Action: ActionCreate, Listed: true}, Status: typesv1beta1.CreationFailed, Retry: terminatingNamespaceRecheck,
				Events: []string{"Warning CreateInClusterFailed"},
			},
		},
		{
			name:   "a write that the member's role denies says UpdateFailed, with no event: recordDenials tells it once",
			action: ActionUpdate, err: apierrors.NewForbidden(schema.GroupResource{Resource: "configmaps"}, "settings",
				errors.New(`User "x" cannot patch resource "configmaps" in API group "" in the namespace "default"`)),
			want: decided{Decision: ClusterDecision{Action: ActionUpdate, Listed: true}, Status: typesv1beta1.UpdateFailed, Err: true},
		},
		{
			name: "a delete that fails says DeletionFailed", action: ActionDelete, err: errors.New("boom"),
			want: decided{
				Decision: ClusterDecision{Action: ActionDelete, Listed: true}, Status: typesv1beta1.DeletionFailed, Err: true,
				Events: []string{"Warning DeleteInClusterFailed"},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := &SyncReconciler{Type: configMapType(false)}
			before := clusterResult{name: thisCluster, decision: ClusterDecision{Action: tc.action, Listed: true}}
			res := r.writeResult(newFed().scope(t), before, tc.obj, tc.err)
			if diff := cmp.Diff(tc.want, decidedOf(ClusterInput{}, res)); diff != "" {
				t.Errorf("outcome (-want +got):\n%s", diff)
			}
		})
	}
}
