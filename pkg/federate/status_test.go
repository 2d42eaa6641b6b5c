package federate

import (
	"encoding/json"
	"testing"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
)

// The times of successive reconciles.
const (
	t0 = "2024-05-01T10:00:00Z"
	t1 = "2024-05-01T10:05:00Z"
)

// status builds a FederatedStatus fluently.
type status struct{ s typesv1beta1.FederatedStatus }

func newStatus(generation int64) *status {
	return &status{s: typesv1beta1.FederatedStatus{ObservedGeneration: generation}}
}

// propagation adds a Propagation condition.
func (b *status) propagation(st corev1.ConditionStatus, reason typesv1beta1.AggregateReason, updated, transitioned string) *status {
	b.s.Conditions = append(b.s.Conditions, &typesv1beta1.Condition{
		Type:               typesv1beta1.PropagationConditionType,
		Status:             st,
		Reason:             reason,
		LastUpdateTime:     updated,
		LastTransitionTime: transitioned,
	})
	return b
}

// condition adds a condition of another type.
func (b *status) condition(c *typesv1beta1.Condition) *status {
	b.s.Conditions = append(b.s.Conditions, c)
	return b
}

// message sets the message of the last condition added.
func (b *status) message(m string) *status {
	b.s.Conditions[len(b.s.Conditions)-1].Message = m
	return b
}

func (b *status) clusters(cs ...typesv1beta1.ClusterStatus) *status {
	b.s.Clusters = append(b.s.Clusters, cs...)
	return b
}

func (b *status) build() typesv1beta1.FederatedStatus { return *b.s.DeepCopy() }

// clusterStatus is a cluster's entry in status.clusters.
func clusterStatus(name string, st typesv1beta1.PropagationStatus) typesv1beta1.ClusterStatus {
	return typesv1beta1.ClusterStatus{Name: name, Status: st}
}

// withRemote is a propagated cluster's entry with the given remote status, kept as written.
func withRemote(name, remoteStatus string) typesv1beta1.ClusterStatus {
	return typesv1beta1.ClusterStatus{Name: name, RemoteStatus: &typesv1beta1.Raw{JSON: []byte(remoteStatus)}}
}

var (
	okA = clusterStatus("a", typesv1beta1.ClusterPropagationOK)
	okB = clusterStatus("b", typesv1beta1.ClusterPropagationOK)
	okC = clusterStatus("c", typesv1beta1.ClusterPropagationOK)
)

func TestSetStatus(t *testing.T) {
	cases := []struct {
		name        string
		before      typesv1beta1.FederatedStatus
		in          StatusInput
		want        typesv1beta1.FederatedStatus
		wantChanged bool
	}{
		{
			name:        "a fresh status is propagated, with both times now and clusters sorted by name",
			in:          StatusInput{Generation: 1, Clusters: []typesv1beta1.ClusterStatus{okC, okA, okB}, Now: t0},
			want:        newStatus(1).propagation(corev1.ConditionTrue, typesv1beta1.AggregateSuccess, t0, t0).clusters(okA, okB, okC).build(),
			wantChanged: true,
		},
		{
			name:        "a message is set with the condition, and the same message later changes nothing",
			before:      newStatus(1).propagation(corev1.ConditionTrue, typesv1beta1.AggregateSuccess, t0, t0).message("m").clusters(okA).build(),
			in:          StatusInput{Generation: 1, Clusters: []typesv1beta1.ClusterStatus{okA}, Message: "m", Now: t1},
			want:        newStatus(1).propagation(corev1.ConditionTrue, typesv1beta1.AggregateSuccess, t0, t0).message("m").clusters(okA).build(),
			wantChanged: false,
		},
		{
			name:        "another message with the same status and reason updates only lastUpdateTime",
			before:      newStatus(1).propagation(corev1.ConditionTrue, typesv1beta1.AggregateSuccess, t0, t0).message("m").clusters(okA).build(),
			in:          StatusInput{Generation: 1, Clusters: []typesv1beta1.ClusterStatus{okA}, Now: t1},
			want:        newStatus(1).propagation(corev1.ConditionTrue, typesv1beta1.AggregateSuccess, t1, t0).clusters(okA).build(),
			wantChanged: true,
		},
		{
			name:        "the same outcome later changes nothing, times included",
			before:      newStatus(1).propagation(corev1.ConditionTrue, typesv1beta1.AggregateSuccess, t0, t0).clusters(okA, okB, okC).build(),
			in:          StatusInput{Generation: 1, Clusters: []typesv1beta1.ClusterStatus{okB, okC, okA}, Now: t1},
			want:        newStatus(1).propagation(corev1.ConditionTrue, typesv1beta1.AggregateSuccess, t0, t0).clusters(okA, okB, okC).build(),
			wantChanged: false,
		},
		{
			name:   "a cluster with a status turns the condition False with CheckClusters",
			before: newStatus(1).propagation(corev1.ConditionTrue, typesv1beta1.AggregateSuccess, t0, t0).clusters(okA, okB).build(),
			in: StatusInput{Generation: 1, Now: t1, Clusters: []typesv1beta1.ClusterStatus{
				clusterStatus("b", typesv1beta1.ClusterNotReady), okA,
			}},
			want: newStatus(1).propagation(corev1.ConditionFalse, typesv1beta1.CheckClusters, t1, t1).
				clusters(okA, clusterStatus("b", typesv1beta1.ClusterNotReady)).build(),
			wantChanged: true,
		},
		{
			name:        "a cluster whose object is the host's own source object counts as propagated",
			in:          StatusInput{Generation: 1, Now: t0, Clusters: []typesv1beta1.ClusterStatus{clusterStatus("b", typesv1beta1.SourceObject), okA}},
			want:        newStatus(1).propagation(corev1.ConditionTrue, typesv1beta1.AggregateSuccess, t0, t0).clusters(okA, clusterStatus("b", typesv1beta1.SourceObject)).build(),
			wantChanged: true,
		},
		{
			name:        "clusters that are all fine again turn the condition True with an empty reason",
			before:      newStatus(1).propagation(corev1.ConditionFalse, typesv1beta1.CheckClusters, t0, t0).clusters(okA, clusterStatus("b", typesv1beta1.ClusterNotReady)).build(),
			in:          StatusInput{Generation: 1, Now: t1, Clusters: []typesv1beta1.ClusterStatus{okA, okB}},
			want:        newStatus(1).propagation(corev1.ConditionTrue, typesv1beta1.AggregateSuccess, t1, t1).clusters(okA, okB).build(),
			wantChanged: true,
		},
		{
			name:        "another cluster status with the same outcome updates only lastUpdateTime",
			before:      newStatus(1).propagation(corev1.ConditionFalse, typesv1beta1.CheckClusters, t0, t0).clusters(clusterStatus("a", typesv1beta1.ClusterNotReady)).build(),
			in:          StatusInput{Generation: 1, Now: t1, Clusters: []typesv1beta1.ClusterStatus{clusterStatus("a", typesv1beta1.UpdateFailed)}},
			want:        newStatus(1).propagation(corev1.ConditionFalse, typesv1beta1.CheckClusters, t1, t0).clusters(clusterStatus("a", typesv1beta1.UpdateFailed)).build(),
			wantChanged: true,
		},
		{
			name:        "a fresh status of an object whose namespace is not federated is False with that reason and no clusters",
			in:          StatusInput{Generation: 1, Reason: typesv1beta1.NamespaceNotFederated, Now: t0},
			want:        newStatus(1).propagation(corev1.ConditionFalse, typesv1beta1.NamespaceNotFederated, t0, t0).build(),
			wantChanged: true,
		},
		{
			name:        "an object whose namespace stops being federated loses its clusters",
			before:      newStatus(1).propagation(corev1.ConditionTrue, typesv1beta1.AggregateSuccess, t0, t0).clusters(okA, okB).build(),
			in:          StatusInput{Generation: 1, Reason: typesv1beta1.NamespaceNotFederated, Now: t1},
			want:        newStatus(1).propagation(corev1.ConditionFalse, typesv1beta1.NamespaceNotFederated, t1, t1).build(),
			wantChanged: true,
		},
		{
			name:        "the whole object's reason wins over the clusters' statuses",
			in:          StatusInput{Generation: 1, Reason: typesv1beta1.ComputePlacementFailed, Now: t0, Clusters: []typesv1beta1.ClusterStatus{clusterStatus("a", typesv1beta1.ClusterNotReady)}},
			want:        newStatus(1).propagation(corev1.ConditionFalse, typesv1beta1.ComputePlacementFailed, t0, t0).clusters(clusterStatus("a", typesv1beta1.ClusterNotReady)).build(),
			wantChanged: true,
		},
		{
			name:        "a written member object with the same outcome updates only lastUpdateTime",
			before:      newStatus(1).propagation(corev1.ConditionTrue, typesv1beta1.AggregateSuccess, t0, t0).clusters(okA).build(),
			in:          StatusInput{Generation: 1, Written: true, Now: t1, Clusters: []typesv1beta1.ClusterStatus{okA}},
			want:        newStatus(1).propagation(corev1.ConditionTrue, typesv1beta1.AggregateSuccess, t1, t0).clusters(okA).build(),
			wantChanged: true,
		},
		{
			name:        "a new generation with the same outcome changes only observedGeneration",
			before:      newStatus(1).propagation(corev1.ConditionTrue, typesv1beta1.AggregateSuccess, t0, t0).clusters(okA).build(),
			in:          StatusInput{Generation: 2, Now: t1, Clusters: []typesv1beta1.ClusterStatus{okA}},
			want:        newStatus(2).propagation(corev1.ConditionTrue, typesv1beta1.AggregateSuccess, t0, t0).clusters(okA).build(),
			wantChanged: true,
		},
		{
			name:        "remote status is compared as JSON values, not bytes",
			before:      newStatus(1).propagation(corev1.ConditionTrue, typesv1beta1.AggregateSuccess, t0, t0).clusters(withRemote("a", `{"a":1,"b":2}`)).build(),
			in:          StatusInput{Generation: 1, Now: t1, Clusters: []typesv1beta1.ClusterStatus{withRemote("a", `{"b": 2, "a": 1}`)}},
			want:        newStatus(1).propagation(corev1.ConditionTrue, typesv1beta1.AggregateSuccess, t0, t0).clusters(withRemote("a", `{"a":1,"b":2}`)).build(),
			wantChanged: false,
		},
		{
			name:        "a changed remote status is stored and updates lastUpdateTime",
			before:      newStatus(1).propagation(corev1.ConditionTrue, typesv1beta1.AggregateSuccess, t0, t0).clusters(withRemote("a", `{"readyReplicas":1}`)).build(),
			in:          StatusInput{Generation: 1, Now: t1, Clusters: []typesv1beta1.ClusterStatus{withRemote("a", `{"readyReplicas":3}`)}},
			want:        newStatus(1).propagation(corev1.ConditionTrue, typesv1beta1.AggregateSuccess, t1, t0).clusters(withRemote("a", `{"readyReplicas":3}`)).build(),
			wantChanged: true,
		},
		{
			name:        "a remote status that appears is stored",
			before:      newStatus(1).propagation(corev1.ConditionTrue, typesv1beta1.AggregateSuccess, t0, t0).clusters(okA).build(),
			in:          StatusInput{Generation: 1, Now: t1, Clusters: []typesv1beta1.ClusterStatus{withRemote("a", `{}`)}},
			want:        newStatus(1).propagation(corev1.ConditionTrue, typesv1beta1.AggregateSuccess, t1, t0).clusters(withRemote("a", `{}`)).build(),
			wantChanged: true,
		},
		{
			name:        "a cluster that leaves the list updates lastUpdateTime",
			before:      newStatus(1).propagation(corev1.ConditionTrue, typesv1beta1.AggregateSuccess, t0, t0).clusters(okA, okB).build(),
			in:          StatusInput{Generation: 1, Now: t1, Clusters: []typesv1beta1.ClusterStatus{okA}},
			want:        newStatus(1).propagation(corev1.ConditionTrue, typesv1beta1.AggregateSuccess, t1, t0).clusters(okA).build(),
			wantChanged: true,
		},
		{
			name: "other conditions are kept and the Propagation condition is added",
			before: newStatus(1).
				condition(nil).
				condition(&typesv1beta1.Condition{Type: "Other", Status: corev1.ConditionTrue, LastTransitionTime: t0}).
				build(),
			in: StatusInput{Generation: 1, Now: t1},
			want: newStatus(1).
				condition(nil).
				condition(&typesv1beta1.Condition{Type: "Other", Status: corev1.ConditionTrue, LastTransitionTime: t0}).
				propagation(corev1.ConditionTrue, typesv1beta1.AggregateSuccess, t1, t1).
				build(),
			wantChanged: true,
		},
		{
			name: "stale replicas that appear change the status, not the condition's times",
			before: func() typesv1beta1.FederatedStatus {
				st := newStatus(1).propagation(corev1.ConditionTrue, typesv1beta1.AggregateSuccess, t0, t0).build()
				st.Replicas, st.ReadyReplicas = ptr.To[int64](6), ptr.To[int64](6)
				return st
			}(),
			in: StatusInput{Generation: 1, Now: t1, Replicas: ptr.To[int64](6), ReadyReplicas: ptr.To[int64](6), StaleReplicas: ptr.To[int64](4)},
			want: func() typesv1beta1.FederatedStatus {
				st := newStatus(1).propagation(corev1.ConditionTrue, typesv1beta1.AggregateSuccess, t0, t0).build()
				st.Replicas, st.ReadyReplicas, st.StaleReplicas = ptr.To[int64](6), ptr.To[int64](6), ptr.To[int64](4)
				return st
			}(),
			wantChanged: true,
		},
		{
			name:        "a Propagation condition without a transition time gets one",
			before:      newStatus(1).propagation(corev1.ConditionTrue, typesv1beta1.AggregateSuccess, t0, "").build(),
			in:          StatusInput{Generation: 1, Now: t1},
			want:        newStatus(1).propagation(corev1.ConditionTrue, typesv1beta1.AggregateSuccess, t1, t1).build(),
			wantChanged: true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := *tc.before.DeepCopy()
			changed := SetStatus(&got, tc.in)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("SetStatus() status mismatch (-want +got):\n%s", diff)
			}
			if changed != tc.wantChanged {
				t.Errorf("SetStatus() = %v, want %v", changed, tc.wantChanged)
			}
		})
	}
}

// TestSetStatusSettles checks that the status SetStatus writes is the one it then leaves alone:
// the same input a reconcile later returns false and changes nothing, times included, and the
// caller's clusters keep their order.
func TestSetStatusSettles(t *testing.T) {
	cases := []struct {
		name string
		in   StatusInput
	}{
		{
			name: "propagated to unsorted clusters",
			in:   StatusInput{Generation: 1, Clusters: []typesv1beta1.ClusterStatus{okC, okA, okB}},
		},
		{
			name: "a cluster with a status",
			in:   StatusInput{Generation: 2, Clusters: []typesv1beta1.ClusterStatus{okB, clusterStatus("a", typesv1beta1.AlreadyExists)}},
		},
		{
			name: "namespace not federated",
			in:   StatusInput{Generation: 1, Reason: typesv1beta1.NamespaceNotFederated},
		},
		{
			name: "remote statuses",
			in:   StatusInput{Generation: 3, Clusters: []typesv1beta1.ClusterStatus{withRemote("b", `{"x":[1,2]}`), withRemote("a", `null`)}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			order := append([]typesv1beta1.ClusterStatus(nil), tc.in.Clusters...)
			var st typesv1beta1.FederatedStatus

			first := tc.in
			first.Now = t0
			if !SetStatus(&st, first) {
				t.Errorf("SetStatus() on a fresh status = false, want true")
			}
			settled := *st.DeepCopy()

			again := tc.in
			again.Now = t1
			if SetStatus(&st, again) {
				t.Errorf("SetStatus() with the same input again = true, want false")
			}
			if diff := cmp.Diff(settled, st); diff != "" {
				t.Errorf("SetStatus() with the same input again changed the status (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(order, tc.in.Clusters); diff != "" {
				t.Errorf("SetStatus() reordered the input clusters (-want +got):\n%s", diff)
			}
		})
	}
}

// TestStatusPatchReplacesTheWholeStatus applies the status patch as the API server does (a
// JSON merge patch) to an object whose status has more than the new one, and checks that the
// result is exactly the new status: a merge patch only drops fields it names as null.
func TestStatusPatchReplacesTheWholeStatus(t *testing.T) {
	waitA, waitB := clusterStatus("a", typesv1beta1.WaitingForRemoval), clusterStatus("b", typesv1beta1.WaitingForRemoval)
	old := newStatus(1).propagation(corev1.ConditionFalse, typesv1beta1.CheckClusters, t0, t0).clusters(waitA, waitB).build()
	old.Replicas, old.ReadyReplicas, old.StaleReplicas = ptr.To[int64](3), ptr.To[int64](2), ptr.To[int64](4)
	tests := []struct {
		name string
		want typesv1beta1.FederatedStatus
	}{
		{name: "no cluster listed and no replicas any more", want: newStatus(2).propagation(corev1.ConditionTrue, "", t1, t1).build()},
		{name: "one cluster fewer", want: newStatus(2).propagation(corev1.ConditionFalse, typesv1beta1.CheckClusters, t1, t0).clusters(waitB).build()},
		{name: "empty status", want: typesv1beta1.FederatedStatus{}},
		{name: "same status", want: old},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := json.Marshal(map[string]any{"metadata": map[string]any{"name": "x"}, "status": old})
			if err != nil {
				t.Fatal(err)
			}
			patch, err := statusPatch(tt.want)
			if err != nil {
				t.Fatal(err)
			}
			merged, err := jsonpatch.MergePatch(doc, patch)
			if err != nil {
				t.Fatal(err)
			}
			var got struct {
				Status typesv1beta1.FederatedStatus `json:"status"`
			}
			if err := json.Unmarshal(merged, &got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got.Status); diff != "" {
				t.Errorf("status after the patch (-want +got):\n%s", diff)
			}
		})
	}
}
