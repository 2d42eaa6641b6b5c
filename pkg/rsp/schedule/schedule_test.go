package schedule

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	schedulingv1alpha1 "github.com/fedplane/fedplane/api/scheduling/v1alpha1"
	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
	"github.com/fedplane/fedplane/pkg/placement"
)

// target is a fluent builder of a federated workload's spec.
type target typesv1beta1.FederatedSpec

func newTarget() target {
	return target{Placement: typesv1beta1.Placement{ClusterSelector: &metav1.LabelSelector{}}}
}

func (t target) placed(names ...string) target {
	t.Placement.Clusters = []typesv1beta1.ClusterReference{}
	for _, n := range names {
		t.Placement.Clusters = append(t.Placement.Clusters, typesv1beta1.ClusterReference{Name: n})
	}
	return t
}

func (t target) selector(labels map[string]string) target {
	t.Placement.ClusterSelector = &metav1.LabelSelector{MatchLabels: labels}
	return t
}

func (t target) override(cluster, path string, value any) target {
	op := typesv1beta1.Override{Op: "add", Path: path, Value: raw(value)}
	ops := make([]typesv1beta1.ClusterOverrides, 0, len(t.Overrides)+1)
	found := false
	for _, co := range t.Overrides {
		if co.ClusterName == cluster {
			co.ClusterOverrides = append(append([]typesv1beta1.Override(nil), co.ClusterOverrides...), op)
			found = true
		}
		ops = append(ops, co)
	}
	if !found {
		ops = append(ops, typesv1beta1.ClusterOverrides{ClusterName: cluster, ClusterOverrides: []typesv1beta1.Override{op}})
	}
	t.Overrides = ops
	return t
}

func n(v int64) *int64 { return &v }

func cl(name string, ready bool, labels map[string]string) placement.Cluster {
	return placement.Cluster{Name: name, Ready: ready, Labels: labels}
}

func pref(total int32, rebalance, intersect bool, clusters map[string]schedulingv1alpha1.ClusterPreferences) *schedulingv1alpha1.ReplicaSchedulingPreference {
	return &schedulingv1alpha1.ReplicaSchedulingPreference{
		ObjectMeta: metav1.ObjectMeta{Namespace: "test-namespace", Name: "web"},
		Spec: schedulingv1alpha1.ReplicaSchedulingPreferenceSpec{
			TargetKind: "FederatedDeployment", TotalReplicas: total, Rebalance: rebalance,
			IntersectWithClusterSelector: intersect, Clusters: clusters,
		},
	}
}

func TestSchedule(t *testing.T) {
	both := []placement.Cluster{cl("cce", true, map[string]string{"region": "eu"}), cl("local", true, map[string]string{"region": "us"})}
	cceDown := []placement.Cluster{cl("cce", false, nil), cl("local", true, nil)}
	noneReady := []placement.Cluster{cl("cce", false, nil), cl("local", false, nil)}
	fedNS := &typesv1beta1.Placement{ClusterSelector: &metav1.LabelSelector{}}
	cases := []struct {
		name       string
		clusters   []placement.Cluster
		in         Input
		wantCands  []string
		wantKept   []string
		wantTarget target
		wantChange bool
	}{
		{
			name:       "both Ready: an even split, placed by name with an override each",
			clusters:   both,
			in:         Input{Preference: pref(8, true, false, nil), Target: typesv1beta1.FederatedSpec(newTarget())},
			wantCands:  []string{"cce", "local"},
			wantTarget: newTarget().placed("cce", "local").override("cce", "/spec/replicas", 4).override("local", "/spec/replicas", 4),
			wantChange: true,
		},
		{
			name:     "seed rsp-minmax: minimums, maximums and weights",
			clusters: both,
			in: Input{Preference: pref(9, false, false, map[string]schedulingv1alpha1.ClusterPreferences{
				"local": {MinReplicas: 4, MaxReplicas: n(6), Weight: 1}, "cce": {MinReplicas: 4, MaxReplicas: n(8), Weight: 2},
			}), Target: typesv1beta1.FederatedSpec(newTarget())},
			wantCands:  []string{"cce", "local"},
			wantTarget: newTarget().placed("cce", "local").override("cce", "/spec/replicas", 5).override("local", "/spec/replicas", 4),
			wantChange: true,
		},
		{
			name:       "already applied: nothing changes",
			clusters:   both,
			in:         Input{Preference: pref(8, true, false, nil), Target: typesv1beta1.FederatedSpec(newTarget().placed("cce", "local").override("cce", "/spec/replicas", 4).override("local", "/spec/replicas", 4))},
			wantCands:  []string{"cce", "local"},
			wantTarget: newTarget().placed("cce", "local").override("cce", "/spec/replicas", 4).override("local", "/spec/replicas", 4),
		},
		{
			name:     "user overrides keep their place and order; replicas are set in place",
			clusters: both,
			in: Input{Preference: pref(8, true, false, nil), Target: typesv1beta1.FederatedSpec(newTarget().placed("cce", "local").
				override("local", "/spec/template/spec/containers/0/image", "nginx:1.17").override("local", "/spec/replicas", 1).override("local", "/metadata/labels/x", "y"))},
			wantCands: []string{"cce", "local"},
			wantTarget: newTarget().placed("cce", "local").
				override("local", "/spec/template/spec/containers/0/image", "nginx:1.17").override("local", "/spec/replicas", 4).override("local", "/metadata/labels/x", "y").
				override("cce", "/spec/replicas", 4),
			wantChange: true,
		},
		{
			name:       "cce not Ready and placed before: kept with its override untouched, local takes all",
			clusters:   cceDown,
			in:         Input{Preference: pref(8, true, false, nil), Target: typesv1beta1.FederatedSpec(newTarget().placed("cce", "local").override("cce", "/spec/replicas", 4).override("local", "/spec/replicas", 4))},
			wantCands:  []string{"local"},
			wantKept:   []string{"cce"},
			wantTarget: newTarget().placed("cce", "local").override("cce", "/spec/replicas", 4).override("local", "/spec/replicas", 8),
			wantChange: true,
		},
		{
			name:       "cce not Ready and never placed: left out",
			clusters:   cceDown,
			in:         Input{Preference: pref(8, true, false, nil), Target: typesv1beta1.FederatedSpec(newTarget())},
			wantCands:  []string{"local"},
			wantTarget: newTarget().placed("local").override("local", "/spec/replicas", 8),
			wantChange: true,
		},
		{
			name:       "no Ready cluster: the target stays as it is",
			clusters:   noneReady,
			in:         Input{Preference: pref(8, true, false, nil), Target: typesv1beta1.FederatedSpec(newTarget().placed("cce").override("cce", "/spec/replicas", 8))},
			wantTarget: newTarget().placed("cce").override("cce", "/spec/replicas", 8),
		},
		{
			name:       "a Ready cluster no longer a candidate leaves the placement",
			clusters:   both,
			in:         Input{Preference: pref(8, true, true, nil), Target: typesv1beta1.FederatedSpec(newTarget().selector(map[string]string{"region": "us"}).placed("cce", "local").override("cce", "/spec/replicas", 4))},
			wantCands:  []string{"local"},
			wantTarget: newTarget().selector(map[string]string{"region": "us"}).placed("local").override("cce", "/spec/replicas", 4).override("local", "/spec/replicas", 8),
			wantChange: true,
		},
		{
			name:       "capacity: the override carries the overflow, the rest goes to local",
			clusters:   both,
			in:         Input{Preference: pref(12, true, false, nil), Target: typesv1beta1.FederatedSpec(newTarget()), EstimatedCapacity: map[string]int64{"cce": 5}},
			wantCands:  []string{"cce", "local"},
			wantTarget: newTarget().placed("cce", "local").override("cce", "/spec/replicas", 6).override("local", "/spec/replicas", 7),
			wantChange: true,
		},
		{
			name:       "no rebalance: running replicas stay where they run",
			clusters:   both,
			in:         Input{Preference: pref(8, false, false, nil), Target: typesv1beta1.FederatedSpec(newTarget()), CurrentReplicas: map[string]int64{"local": 8}},
			wantCands:  []string{"cce", "local"},
			wantTarget: newTarget().placed("cce", "local").override("cce", "/spec/replicas", 0).override("local", "/spec/replicas", 8),
			wantChange: true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clusters := placement.Input{Namespaced: true, NamespacePlacement: fedNS, Clusters: tc.clusters}
			candidates, err := Candidates(tc.in.Preference.Spec, tc.in.Target.Placement, clusters)
			if err != nil {
				t.Fatalf("Candidates() error: %v", err)
			}
			tc.in.Clusters, tc.in.Candidates = tc.clusters, candidates
			before, err := json.Marshal(tc.in.Target)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Schedule(tc.in)
			if err != nil {
				t.Fatalf("Schedule() error: %v", err)
			}
			if diff := cmp.Diff(tc.wantCands, got.Candidates); diff != "" {
				t.Errorf("candidates (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantKept, got.Kept); diff != "" {
				t.Errorf("kept (-want +got):\n%s", diff)
			}
			want := typesv1beta1.FederatedSpec(tc.wantTarget)
			if diff := cmp.Diff(want.Placement, got.Placement); diff != "" {
				t.Errorf("placement (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(want.Overrides, got.Overrides); diff != "" {
				t.Errorf("overrides (-want +got):\n%s", diff)
			}
			if got.Changed != tc.wantChange {
				t.Errorf("Changed = %v, want %v", got.Changed, tc.wantChange)
			}
			if after, _ := json.Marshal(tc.in.Target); string(after) != string(before) {
				t.Errorf("Schedule modified its input:\n%s\n%s", before, after)
			}
		})
	}
}

func TestMemberReplicas(t *testing.T) {
	given := newTarget().override("cce", "/spec/template/spec/containers/0/image", "nginx:1.26").override("cce", "/spec/replicas", 4).override("local", "/spec/replicas", 3).Overrides
	cases := []struct {
		name         string
		states       map[string]MemberState
		wantCurrent  map[string]int64
		wantCapacity map[string]int64
	}{
		{name: "no candidates", wantCurrent: map[string]int64{}, wantCapacity: map[string]int64{}},
		{
			name:         "what a cluster is asked to run counts, not what runs",
			states:       map[string]MemberState{"cce": {Known: true, Exists: true, Replicas: 6}, "local": {Known: true, Exists: true, Replicas: 2}},
			wantCurrent:  map[string]int64{"cce": 6, "local": 2},
			wantCapacity: map[string]int64{},
		},
		{
			name:         "unschedulable pods cap the cluster at what fits",
			states:       map[string]MemberState{"cce": {Known: true, Exists: true, Replicas: 6, Unschedulable: 1}},
			wantCurrent:  map[string]int64{"cce": 6},
			wantCapacity: map[string]int64{"cce": 5},
		},
		{
			name:         "more unschedulable pods than replicas (an old rollout) is no room at all",
			states:       map[string]MemberState{"cce": {Known: true, Exists: true, Replicas: 2, Unschedulable: 3}},
			wantCurrent:  map[string]int64{"cce": 2},
			wantCapacity: map[string]int64{"cce": 0},
		},
		{
			name:         "a cluster without the workload runs nothing",
			states:       map[string]MemberState{"cce": {Known: true}},
			wantCurrent:  map[string]int64{},
			wantCapacity: map[string]int64{},
		},
		{
			name:         "an unknown cluster keeps what its override gives it, with no estimate",
			states:       map[string]MemberState{"cce": {Unschedulable: 9}, "local": {Known: true, Exists: true, Replicas: 5}, "new": {}},
			wantCurrent:  map[string]int64{"cce": 4, "local": 5, "new": 0},
			wantCapacity: map[string]int64{},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			current, capacity := MemberReplicas(tc.states, given)
			if diff := cmp.Diff(tc.wantCurrent, current); diff != "" {
				t.Errorf("current (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantCapacity, capacity); diff != "" {
				t.Errorf("capacity (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCandidates(t *testing.T) {
	clusters := []placement.Cluster{
		cl("a", true, map[string]string{"region": "eu"}),
		cl("b", true, map[string]string{"region": "us"}),
		cl("c", false, map[string]string{"region": "eu"}),
	}
	all := &metav1.LabelSelector{}
	eu := &metav1.LabelSelector{MatchLabels: map[string]string{"region": "eu"}}
	us := &metav1.LabelSelector{MatchLabels: map[string]string{"region": "us"}}
	onlyA := &typesv1beta1.Placement{Clusters: []typesv1beta1.ClusterReference{{Name: "a"}}}
	cases := []struct {
		name      string
		intersect bool
		target    typesv1beta1.Placement
		namespace *typesv1beta1.Placement
		want      []string
	}{
		{
			name:      "every Ready cluster, whatever the FederatedNamespace places",
			target:    typesv1beta1.Placement{ClusterSelector: all},
			namespace: onlyA,
			want:      []string{"a", "b"},
		},
		{
			name:   "every Ready cluster without a FederatedNamespace",
			target: typesv1beta1.Placement{ClusterSelector: all},
			want:   []string{"a", "b"},
		},
		{
			name:      "every Ready cluster, whatever the target's own placement selects",
			target:    typesv1beta1.Placement{Clusters: []typesv1beta1.ClusterReference{{Name: "b"}}, ClusterSelector: eu},
			namespace: &typesv1beta1.Placement{ClusterSelector: eu},
			want:      []string{"a", "b"},
		},
		{
			name:      "every Ready cluster when the target has no placement at all",
			namespace: &typesv1beta1.Placement{ClusterSelector: all},
			want:      []string{"a", "b"},
		},
		{
			name:      "intersect: the Ready clusters that match the target's clusterSelector",
			intersect: true,
			target:    typesv1beta1.Placement{ClusterSelector: eu},
			namespace: &typesv1beta1.Placement{ClusterSelector: all},
			want:      []string{"a"},
		},
		{
			name:      "intersect: the target's placement.clusters is ignored, its clusterSelector decides",
			intersect: true,
			target:    typesv1beta1.Placement{Clusters: []typesv1beta1.ClusterReference{}, ClusterSelector: us},
			namespace: &typesv1beta1.Placement{ClusterSelector: all},
			want:      []string{"b"},
		},
		{
			name:      "intersect: an empty clusterSelector on the target matches every Ready cluster",
			intersect: true,
			target:    typesv1beta1.Placement{ClusterSelector: all},
			namespace: &typesv1beta1.Placement{ClusterSelector: all},
			want:      []string{"a", "b"},
		},
		{
			name:      "intersect: a target without clusterSelector has no candidate, even with placement.clusters",
			intersect: true,
			target:    typesv1beta1.Placement{Clusters: []typesv1beta1.ClusterReference{{Name: "a"}}},
			namespace: &typesv1beta1.Placement{ClusterSelector: all},
		},
		{
			name:      "intersect: the FederatedNamespace's clusterSelector limits the candidates too",
			intersect: true,
			target:    typesv1beta1.Placement{ClusterSelector: all},
			namespace: &typesv1beta1.Placement{ClusterSelector: us},
			want:      []string{"b"},
		},
		{
			name:      "intersect: a FederatedNamespace placed by placement.clusters alone matches no cluster",
			intersect: true,
			target:    typesv1beta1.Placement{ClusterSelector: all},
			namespace: onlyA,
		},
		{
			name:      "intersect: without a FederatedNamespace there is no candidate",
			intersect: true,
			target:    typesv1beta1.Placement{ClusterSelector: all},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spec := pref(4, false, tc.intersect, nil).Spec
			in := placement.Input{Namespaced: true, NamespacePlacement: tc.namespace, Clusters: clusters}
			got, err := Candidates(spec, tc.target, in)
			if err != nil {
				t.Fatalf("Candidates() error: %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("candidates (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCandidatesInvalidSelectorNamesTheField(t *testing.T) {
	bad := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "region", Operator: "Near"}}}
	in := placement.Input{Namespaced: true, NamespacePlacement: &typesv1beta1.Placement{ClusterSelector: &metav1.LabelSelector{}}, Clusters: []placement.Cluster{cl("a", true, nil)}}
	_, err := Candidates(pref(4, false, true, nil).Spec, typesv1beta1.Placement{ClusterSelector: bad}, in)
	if err == nil || !strings.Contains(err.Error(), "spec.placement.clusterSelector") {
		t.Errorf("Candidates() error = %v, want one naming spec.placement.clusterSelector", err)
	}
}

func TestNoCandidates(t *testing.T) {
	nsPlaced := placement.Input{Namespaced: true, NamespacePlacement: &typesv1beta1.Placement{ClusterSelector: &metav1.LabelSelector{}}}
	cases := []struct {
		name      string
		intersect bool
		clusters  placement.Input
		want      string
	}{
		{name: "without intersect only readiness counts", clusters: nsPlaced, want: "no Ready cluster"},
		{name: "intersect without a FederatedNamespace", intersect: true, clusters: placement.Input{Namespaced: true}, want: "has no FederatedNamespace"},
		{name: "intersect with selectors that match no Ready cluster", intersect: true, clusters: nsPlaced, want: "spec.placement.clusterSelector"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := NoCandidates(pref(4, false, tc.intersect, nil).Spec, tc.clusters); !strings.Contains(got, tc.want) {
				t.Errorf("NoCandidates() = %q, want it to contain %q", got, tc.want)
			}
		})
	}
}

func TestScheduleSpreadsOverTheGivenCandidatesOnly(t *testing.T) {
	// Both clusters are Ready, but the caller found (and read the state of) only local: the
	// plan must not look for candidates again.
	in := Input{
		Preference: pref(8, true, false, nil), Target: typesv1beta1.FederatedSpec(newTarget()),
		Clusters:   []placement.Cluster{cl("cce", true, nil), cl("local", true, nil)},
		Candidates: []string{"local"},
	}
	got, err := Schedule(in)
	if err != nil {
		t.Fatalf("Schedule() error: %v", err)
	}
	want := typesv1beta1.FederatedSpec(newTarget().placed("local").override("local", "/spec/replicas", 8))
	if diff := cmp.Diff(want.Placement, got.Placement); diff != "" {
		t.Errorf("placement (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]int64{"local": 8}, got.Result.Replicas); diff != "" {
		t.Errorf("replicas (-want +got):\n%s", diff)
	}
}
