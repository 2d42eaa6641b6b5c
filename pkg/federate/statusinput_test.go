package federate

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/utils/ptr"

	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
)

func TestStatusInput(t *testing.T) {
	before := typesv1beta1.FederatedStatus{
		Clusters: []typesv1beta1.ClusterStatus{clusterStatus("a", typesv1beta1.ClusterPropagationOK)},
		Replicas: ptr.To[int64](3), ReadyReplicas: ptr.To[int64](2), StaleReplicas: ptr.To[int64](4),
	}
	placementFailed := condition{reason: typesv1beta1.ComputePlacementFailed, message: "invalid selector"}
	synced := []clusterResult{
		{name: "b", decision: ClusterDecision{Listed: true}, status: typesv1beta1.ClusterNotReady},
		{name: "c", decision: ClusterDecision{}, written: true},
	}
	cases := []struct {
		name   string
		s      scope
		want   StatusInput
		wantOK bool
	}{
		{
			name: "a phase failed with a reason: the reason and message, the clusters as they were",
			s:    scope{overall: placementFailed, status: before},
			want: StatusInput{
				Generation: 1, Reason: typesv1beta1.ComputePlacementFailed, Message: "invalid selector", Now: t0,
				Clusters: before.Clusters, Replicas: before.Replicas, ReadyReplicas: before.ReadyReplicas, StaleReplicas: before.StaleReplicas,
			},
			wantOK: true,
		},
		{name: "a read that failed without a reason is only retried: nothing is written", s: scope{status: before}},
		{name: "a member that has not answered yet: nothing is written", s: scope{synced: true, results: synced}},
		{name: "every copy gone: nothing is written for nobody to read", s: scope{synced: true, complete: true, gone: true}},
		{
			name: "every cluster answered: the listed clusters, and whether anything was written",
			s:    scope{synced: true, complete: true, results: synced, overall: condition{message: "m"}},
			want: StatusInput{
				Generation: 1, Message: "m", Now: t0, Written: true,
				Clusters: []typesv1beta1.ClusterStatus{clusterStatus("b", typesv1beta1.ClusterNotReady)},
			},
			wantOK: true,
		},
		{
			name: "replicas are summed over the clusters that count them, stale ones apart",
			s: scope{synced: true, complete: true, results: []clusterResult{
				{name: "a", decision: ClusterDecision{Listed: true}, replicas: ptr.To[int64](4), ready: ptr.To[int64](3)},
				{name: "b", decision: ClusterDecision{Listed: true}, replicas: ptr.To[int64](2), ready: ptr.To[int64](2)},
				{name: "c", decision: ClusterDecision{Listed: true}, status: typesv1beta1.ClusterNotReady, stale: ptr.To[int64](4)},
				{name: "d", decision: ClusterDecision{Listed: true}, status: typesv1beta1.ClusterNotReady, stale: ptr.To[int64](1)},
			}},
			want: StatusInput{
				Generation: 1, Now: t0,
				Clusters: []typesv1beta1.ClusterStatus{
					clusterStatus("a", typesv1beta1.ClusterPropagationOK), clusterStatus("b", typesv1beta1.ClusterPropagationOK),
					clusterStatus("c", typesv1beta1.ClusterNotReady), clusterStatus("d", typesv1beta1.ClusterNotReady),
				},
				Replicas: ptr.To[int64](6), ReadyReplicas: ptr.To[int64](5), StaleReplicas: ptr.To[int64](5),
			},
			wantOK: true,
		},
		{
			name: "no cluster holding a stale copy leaves the stale replicas unset",
			s: scope{synced: true, complete: true, results: []clusterResult{
				{name: "a", decision: ClusterDecision{Listed: true}, replicas: ptr.To[int64](6), ready: ptr.To[int64](6)},
			}},
			want: StatusInput{
				Generation: 1, Now: t0, Clusters: []typesv1beta1.ClusterStatus{clusterStatus("a", typesv1beta1.ClusterPropagationOK)},
				Replicas: ptr.To[int64](6), ReadyReplicas: ptr.To[int64](6),
			},
			wantOK: true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := &SyncReconciler{Now: func() time.Time { return mustTime(t, t0) }}
			s := tc.s
			s.fed = newFed().build()
			got, ok := r.statusInput(&s)
			if ok != tc.wantOK {
				t.Fatalf("ok = %t, want %t", ok, tc.wantOK)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("status input (-want +got):\n%s", diff)
			}
		})
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	ts, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}
