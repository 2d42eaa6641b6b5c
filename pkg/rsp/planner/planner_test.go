package planner

import (
	"fmt"
	"hash/fnv"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"

	schedulingv1alpha1 "github.com/fedplane/fedplane/api/scheduling/v1alpha1"
)

// prefs is a fluent builder of the clusters map of a preference.
type prefs map[string]schedulingv1alpha1.ClusterPreferences

// w adds an entry with only a weight.
func (p prefs) w(name string, weight int64) prefs {
	p[name] = schedulingv1alpha1.ClusterPreferences{Weight: weight}
	return p
}

// mmw adds an entry with a minimum, a maximum (negative means none) and a weight.
func (p prefs) mmw(name string, minReplicas, maxReplicas, weight int64) prefs {
	cp := schedulingv1alpha1.ClusterPreferences{MinReplicas: minReplicas, Weight: weight}
	if maxReplicas >= 0 {
		cp.MaxReplicas = &maxReplicas
	}
	p[name] = cp
	return p
}

func spec(total int32, rebalance bool, p prefs) schedulingv1alpha1.ReplicaSchedulingPreferenceSpec {
	return schedulingv1alpha1.ReplicaSchedulingPreferenceSpec{
		TargetKind:    "FederatedDeployment",
		TotalReplicas: total,
		Rebalance:     rebalance,
		Clusters:      p,
	}
}

type counts = map[string]int64

func names(n ...string) []string { return n }

func TestPlan(t *testing.T) {
	cases := []struct {
		name         string
		in           Input
		wantPlan     counts
		wantOverflow counts
	}{
		// The seed walkthrough, on clusters local and cce (seed/expected/03-rsp.yaml).
		{
			name:     "seed rsp-even: no preferences spread evenly",
			in:       Input{Spec: spec(8, false, nil), Clusters: names("local", "cce"), Key: "test-namespace/rsp-even"},
			wantPlan: counts{"local": 4, "cce": 4},
		},
		{
			name:     "seed rsp-star: a weight-1 wildcard spreads evenly",
			in:       Input{Spec: spec(8, false, prefs{}.w("*", 1)), Clusters: names("local", "cce"), Key: "test-namespace/rsp-star"},
			wantPlan: counts{"local": 4, "cce": 4},
		},
		{
			name: "seed rsp-minmax: minimums first, then one more to the heavier cce",
			in: Input{Spec: spec(9, false, prefs{}.mmw("local", 4, 6, 1).mmw("cce", 4, 8, 2)),
				Clusters: names("local", "cce"), Key: "test-namespace/rsp-minmax"},
			wantPlan: counts{"local": 4, "cce": 5},
		},
		{
			name: "seed rsp-capped: local stops at its maximum and cce takes the rest",
			in: Input{Spec: spec(50, false, prefs{}.w("*", 1).mmw("local", 0, 20, 1)),
				Clusters: names("local", "cce"), Key: "test-namespace/rsp-capped"},
			wantPlan: counts{"local": 20, "cce": 30},
		},
		{
			name:     "seed rsp-even with cce down: everything on local",
			in:       Input{Spec: spec(8, false, nil), Clusters: names("local"), Key: "test-namespace/rsp-even"},
			wantPlan: counts{"local": 8},
		},
		{
			name: "seed rsp-minmax with cce down: local up to its maximum",
			in: Input{Spec: spec(9, false, prefs{}.mmw("local", 4, 6, 1).mmw("cce", 4, 8, 2)),
				Clusters: names("local"), Key: "test-namespace/rsp-minmax"},
			wantPlan: counts{"local": 6},
		},
		{
			name: "seed rsp-capped with cce down: local up to its maximum",
			in: Input{Spec: spec(50, false, prefs{}.w("*", 1).mmw("local", 0, 20, 1)),
				Clusters: names("local"), Key: "test-namespace/rsp-capped"},
			wantPlan: counts{"local": 20},
		},

		// The examples of KubeFed's user guide, on clusters A, B and C.
		{
			name:     "user guide: evenly without preferences",
			in:       Input{Spec: spec(9, false, nil), Clusters: names("A", "B", "C"), Key: "test-ns/test-deployment"},
			wantPlan: counts{"A": 3, "B": 3, "C": 3},
		},
		{
			name:     "user guide: evenly with a wildcard",
			in:       Input{Spec: spec(9, false, prefs{}.w("*", 1)), Clusters: names("A", "B", "C"), Key: "test-ns/test-deployment"},
			wantPlan: counts{"A": 3, "B": 3, "C": 3},
		},
		{
			name:     "user guide: weighted 1:2, C without an entry gets nothing",
			in:       Input{Spec: spec(9, false, prefs{}.w("A", 1).w("B", 2)), Clusters: names("A", "B", "C"), Key: "test-ns/test-deployment"},
			wantPlan: counts{"A": 3, "B": 6, "C": 0},
		},
		{
			name: "user guide: weighted with limits",
			in: Input{Spec: spec(9, false, prefs{}.mmw("A", 4, 6, 1).mmw("B", 4, 8, 2)),
				Clusters: names("A", "B", "C"), Key: "test-ns/test-deployment"},
			wantPlan: counts{"A": 4, "B": 5, "C": 0},
		},
		{
			// The guide gives A=16 B=17 C=17; which cluster gets the short share depends on the
			// hash, and the guide's figures are those of the key "".
			name:     "user guide: not more than 20 in C, all have capacity",
			in:       Input{Spec: spec(50, false, prefs{}.w("*", 1).mmw("C", 0, 20, 1)), Clusters: names("A", "B", "C")},
			wantPlan: counts{"A": 16, "B": 17, "C": 17},
		},
		{
			name: "user guide: not more than 20 in C, all have capacity, another key",
			in: Input{Spec: spec(50, false, prefs{}.w("*", 1).mmw("C", 0, 20, 1)),
				Clusters: names("A", "B", "C"), Key: "test-ns/test-deployment"},
			wantPlan: counts{"A": 17, "B": 17, "C": 16},
		},
		{
			name: "user guide: not more than 20 in C, B offline",
			in: Input{Spec: spec(50, false, prefs{}.w("*", 1).mmw("C", 0, 20, 1)),
				Clusters: names("A", "C"), Key: "test-ns/test-deployment"},
			wantPlan: counts{"A": 30, "C": 20},
		},
		{
			name: "user guide: not more than 20 in C, A and B offline",
			in: Input{Spec: spec(50, false, prefs{}.w("*", 1).mmw("C", 0, 20, 1)),
				Clusters: names("C"), Key: "test-ns/test-deployment"},
			wantPlan: counts{"C": 20},
		},

		// KubeFed's planner tests (key ""): equal weights.
		{
			name:     "kubefed equal: 50 over three, the extra replicas by hash",
			in:       Input{Spec: spec(50, true, prefs{}.w("*", 1)), Clusters: names("A", "B", "C")},
			wantPlan: counts{"A": 16, "B": 17, "C": 17},
		},
		{
			name:     "kubefed equal: 50 over two",
			in:       Input{Spec: spec(50, true, prefs{}.w("*", 1)), Clusters: names("A", "B")},
			wantPlan: counts{"A": 25, "B": 25},
		},
		{
			name:     "kubefed equal: 1 over two goes by hash",
			in:       Input{Spec: spec(1, true, prefs{}.w("*", 1)), Clusters: names("A", "B")},
			wantPlan: counts{"A": 0, "B": 1},
		},
		{
			name:     "kubefed equal: 1 over four goes by hash",
			in:       Input{Spec: spec(1, true, prefs{}.w("*", 1)), Clusters: names("A", "B", "C", "D")},
			wantPlan: counts{"A": 0, "B": 0, "C": 0, "D": 1},
		},
		{
			name:     "kubefed equal: 1 over one",
			in:       Input{Spec: spec(1, true, prefs{}.w("*", 1)), Clusters: names("A")},
			wantPlan: counts{"A": 1},
		},
		{
			name:     "kubefed equal: no candidates, empty plan",
			in:       Input{Spec: spec(1, true, prefs{}.w("*", 1)), Clusters: names()},
			wantPlan: counts{},
		},

		// KubeFed's planner tests: equal weights, rebalance off, current replicas kept.
		{
			name:     "kubefed existing: C keeps its 30, A and B share the rest",
			in:       Input{Spec: spec(50, false, prefs{}.w("*", 1)), Clusters: names("A", "B", "C"), CurrentReplicas: counts{"C": 30}},
			wantPlan: counts{"A": 10, "B": 10, "C": 30},
		},
		{
			name:     "kubefed existing: A keeps its 30",
			in:       Input{Spec: spec(50, false, prefs{}.w("*", 1)), Clusters: names("A", "B"), CurrentReplicas: counts{"A": 30}},
			wantPlan: counts{"A": 30, "B": 20},
		},
		{
			name:     "kubefed existing: 15 with A 0 and B 8",
			in:       Input{Spec: spec(15, false, prefs{}.w("*", 1)), Clusters: names("A", "B"), CurrentReplicas: counts{"A": 0, "B": 8}},
			wantPlan: counts{"A": 7, "B": 8},
		},
		{
			name:     "kubefed existing: 15 with A 1 and B 8",
			in:       Input{Spec: spec(15, false, prefs{}.w("*", 1)), Clusters: names("A", "B"), CurrentReplicas: counts{"A": 1, "B": 8}},
			wantPlan: counts{"A": 7, "B": 8},
		},
		{
			name:     "kubefed existing: 15 with A 4 and B 8",
			in:       Input{Spec: spec(15, false, prefs{}.w("*", 1)), Clusters: names("A", "B"), CurrentReplicas: counts{"A": 4, "B": 8}},
			wantPlan: counts{"A": 7, "B": 8},
		},
		{
			name:     "kubefed existing: 15 with A 5 and B 8",
			in:       Input{Spec: spec(15, false, prefs{}.w("*", 1)), Clusters: names("A", "B"), CurrentReplicas: counts{"A": 5, "B": 8}},
			wantPlan: counts{"A": 7, "B": 8},
		},
		{
			name:     "kubefed existing: 15 with A 6 and B 8",
			in:       Input{Spec: spec(15, false, prefs{}.w("*", 1)), Clusters: names("A", "B"), CurrentReplicas: counts{"A": 6, "B": 8}},
			wantPlan: counts{"A": 7, "B": 8},
		},
		{
			name:     "kubefed existing: 15 with A 7 and B 8",
			in:       Input{Spec: spec(15, false, prefs{}.w("*", 1)), Clusters: names("A", "B"), CurrentReplicas: counts{"A": 7, "B": 8}},
			wantPlan: counts{"A": 7, "B": 8},
		},
		{
			name:     "kubefed existing: large counts",
			in:       Input{Spec: spec(500000, false, prefs{}.w("*", 1)), Clusters: names("A", "B"), CurrentReplicas: counts{"A": 300000}},
			wantPlan: counts{"A": 300000, "B": 200000},
		},
		{
			name:     "kubefed existing: fewer running than the even share",
			in:       Input{Spec: spec(50, false, prefs{}.w("*", 1)), Clusters: names("A", "B"), CurrentReplicas: counts{"A": 10}},
			wantPlan: counts{"A": 25, "B": 25},
		},
		{
			name:     "kubefed existing: more running than total, by hash",
			in:       Input{Spec: spec(50, false, prefs{}.w("*", 1)), Clusters: names("A", "B"), CurrentReplicas: counts{"A": 10, "B": 70}},
			wantPlan: counts{"A": 0, "B": 50},
		},
		{
			name:     "kubefed existing: one replica stays where it runs",
			in:       Input{Spec: spec(1, false, prefs{}.w("*", 1)), Clusters: names("A", "B"), CurrentReplicas: counts{"A": 30}},
			wantPlan: counts{"A": 1, "B": 0},
		},
		{
			name:     "kubefed existing: both below the even share",
			in:       Input{Spec: spec(50, false, prefs{}.w("*", 1)), Clusters: names("A", "B"), CurrentReplicas: counts{"A": 10, "B": 20}},
			wantPlan: counts{"A": 25, "B": 25},
		},

		// KubeFed's planner tests: capacity and overflow.
		{
			name: "kubefed capacity: C limited to 10, its overflow kept with rebalance",
			in: Input{Spec: spec(50, true, prefs{}.w("*", 1)), Clusters: names("A", "B", "C"),
				CurrentReplicas: counts{}, EstimatedCapacity: counts{"C": 10}},
			wantPlan:     counts{"A": 20, "B": 20, "C": 10},
			wantOverflow: counts{"C": 7},
		},
		{
			name: "kubefed capacity: B limited to 10, the rest overflows, C has no entry",
			in: Input{Spec: spec(50, true, prefs{}.w("A", 10000).w("B", 1)), Clusters: names("B", "C"),
				CurrentReplicas: counts{}, EstimatedCapacity: counts{"B": 10}},
			wantPlan:     counts{"B": 10, "C": 0},
			wantOverflow: counts{"B": 40},
		},
		{
			name: "kubefed capacity: B limited to 10, A takes the rest",
			in: Input{Spec: spec(60, true, prefs{}.w("A", 1).w("B", 2)), Clusters: names("A", "B", "C"),
				CurrentReplicas: counts{}, EstimatedCapacity: counts{"B": 10}},
			wantPlan:     counts{"A": 50, "B": 10, "C": 0},
			wantOverflow: counts{"B": 30},
		},
		{
			name: "kubefed capacity: maxima and a capacity together",
			in: Input{Spec: spec(71, true, prefs{}.mmw("A", 0, 10, 10000).w("B", 1).mmw("C", 0, 21, 1).mmw("D", 0, 10, 1)),
				Clusters: names("A", "B", "C", "D"), CurrentReplicas: counts{}, EstimatedCapacity: counts{"C": 10}},
			wantPlan:     counts{"A": 10, "B": 41, "C": 10, "D": 10},
			wantOverflow: counts{"C": 11},
		},
		{
			name: "kubefed capacity: without rebalance the overflow is trimmed to what is unplaced",
			in: Input{Spec: spec(60, false, prefs{}.w("A", 1).w("B", 1)), Clusters: names("A", "B", "C"),
				CurrentReplicas: counts{}, EstimatedCapacity: counts{"A": 10, "B": 10}},
			wantPlan:     counts{"A": 10, "B": 10, "C": 0},
			wantOverflow: counts{"A": 20, "B": 20},
		},
		{
			name: "kubefed capacity: without rebalance nothing overflows when A absorbs it",
			in: Input{Spec: spec(60, false, prefs{}.w("A", 1).w("B", 5)), Clusters: names("A", "B", "C"),
				CurrentReplicas: counts{}, EstimatedCapacity: counts{"B": 10}},
			wantPlan: counts{"A": 50, "B": 10, "C": 0},
		},
		{
			name: "kubefed capacity: minimums are cut by capacity",
			in: Input{Spec: spec(50, false, prefs{}.mmw("*", 20, -1, 0)), Clusters: names("A", "B", "C"),
				CurrentReplicas: counts{}, EstimatedCapacity: counts{"B": 10}},
			wantPlan: counts{"A": 20, "B": 10, "C": 20},
		},
		{
			name: "kubefed capacity: minimums and weights with a capacity",
			in: Input{Spec: spec(60, true, prefs{}.mmw("*", 20, -1, 1)), Clusters: names("A", "B"),
				CurrentReplicas: counts{}, EstimatedCapacity: counts{"B": 10}},
			wantPlan:     counts{"A": 50, "B": 10},
			wantOverflow: counts{"B": 15},
		},

		// KubeFed's planner tests: minimums.
		{
			name:     "kubefed min: minimums only with weight 0",
			in:       Input{Spec: spec(50, true, prefs{}.mmw("*", 2, -1, 0)), Clusters: names("A", "B", "C")},
			wantPlan: counts{"A": 2, "B": 2, "C": 2},
		},
		{
			name:     "kubefed min: minimums above the total, by hash",
			in:       Input{Spec: spec(50, true, prefs{}.mmw("*", 20, -1, 0)), Clusters: names("A", "B", "C")},
			wantPlan: counts{"A": 10, "B": 20, "C": 20},
		},
		{
			name:     "kubefed min: the heaviest cluster's minimum comes first",
			in:       Input{Spec: spec(50, true, prefs{}.mmw("*", 20, -1, 0).mmw("A", 100, -1, 1)), Clusters: names("A", "B", "C")},
			wantPlan: counts{"A": 50, "B": 0, "C": 0},
		},
		{
			name:     "kubefed min: minimums then maxima",
			in:       Input{Spec: spec(50, true, prefs{}.mmw("*", 10, 12, 1)), Clusters: names("A", "B", "C")},
			wantPlan: counts{"A": 12, "B": 12, "C": 12},
		},

		// KubeFed's planner tests: maxima.
		{
			name:     "kubefed max: everyone at the maximum",
			in:       Input{Spec: spec(50, true, prefs{}.mmw("*", 0, 2, 1)), Clusters: names("A", "B", "C")},
			wantPlan: counts{"A": 2, "B": 2, "C": 2},
		},
		{
			name:     "kubefed max: weight 0 gives nothing",
			in:       Input{Spec: spec(50, true, prefs{}.mmw("*", 0, 2, 0)), Clusters: names("A", "B", "C")},
			wantPlan: counts{"A": 0, "B": 0, "C": 0},
		},

		// KubeFed's planner tests: weights.
		{
			name:     "kubefed weight: 1:2, C without an entry",
			in:       Input{Spec: spec(60, true, prefs{}.w("A", 1).w("B", 2)), Clusters: names("A", "B", "C")},
			wantPlan: counts{"A": 20, "B": 40, "C": 0},
		},
		{
			name:     "kubefed weight: a dominant weight takes all",
			in:       Input{Spec: spec(50, true, prefs{}.w("A", 10000).w("B", 1)), Clusters: names("A", "B", "C")},
			wantPlan: counts{"A": 50, "B": 0, "C": 0},
		},
		{
			name:     "kubefed weight: the dominant cluster is not a candidate",
			in:       Input{Spec: spec(50, true, prefs{}.w("A", 10000).w("B", 1)), Clusters: names("B", "C")},
			wantPlan: counts{"B": 50, "C": 0},
		},
		{
			name:     "kubefed weight: the dominant cluster is capped",
			in:       Input{Spec: spec(50, true, prefs{}.mmw("A", 0, 10, 10000).w("B", 1).w("C", 1)), Clusters: names("A", "B", "C")},
			wantPlan: counts{"A": 10, "B": 20, "C": 20},
		},
		{
			name:     "kubefed weight: two capped clusters",
			in:       Input{Spec: spec(50, true, prefs{}.mmw("A", 0, 10, 10000).w("B", 1).mmw("C", 0, 10, 1)), Clusters: names("A", "B", "C")},
			wantPlan: counts{"A": 10, "B": 30, "C": 10},
		},
		{
			name: "kubefed weight: three capped clusters",
			in: Input{Spec: spec(71, true, prefs{}.mmw("A", 0, 10, 10000).w("B", 1).mmw("C", 0, 21, 1).mmw("D", 0, 10, 1)),
				Clusters: names("A", "B", "C", "D")},
			wantPlan: counts{"A": 10, "B": 30, "C": 21, "D": 10},
		},
		{
			name: "kubefed weight: three capped clusters and an open one",
			in: Input{Spec: spec(91, true, prefs{}.mmw("A", 0, 10, 10000).w("B", 1).mmw("C", 0, 21, 1).mmw("D", 0, 10, 1).w("E", 1)),
				Clusters: names("A", "B", "C", "D", "E")},
			wantPlan: counts{"A": 10, "B": 25, "C": 21, "D": 10, "E": 25},
		},

		// Further cases.
		{
			name:     "no wildcard: clusters without an entry get 0",
			in:       Input{Spec: spec(10, false, prefs{}.w("A", 1)), Clusters: names("A", "B")},
			wantPlan: counts{"A": 10, "B": 0},
		},
		{
			name:     "zero total plans zero everywhere",
			in:       Input{Spec: spec(0, false, nil), Clusters: names("A", "B")},
			wantPlan: counts{"A": 0, "B": 0},
		},
		{
			name:     "duplicate candidates count once",
			in:       Input{Spec: spec(9, false, nil), Clusters: names("A", "B", "A", "C", "B"), Key: "test-ns/test-deployment"},
			wantPlan: counts{"A": 3, "B": 3, "C": 3},
		},
		{
			name:     "current replicas are ignored with rebalance",
			in:       Input{Spec: spec(50, true, prefs{}.w("*", 1)), Clusters: names("A", "B"), CurrentReplicas: counts{"A": 30}},
			wantPlan: counts{"A": 25, "B": 25},
		},
		{
			name: "kept replicas are capped by the maximum",
			in: Input{Spec: spec(20, false, prefs{}.w("*", 1).mmw("A", 0, 12, 1)), Clusters: names("A", "B"),
				CurrentReplicas: counts{"A": 18}},
			wantPlan: counts{"A": 12, "B": 8},
		},
		{
			name: "kept replicas are capped by the capacity",
			in: Input{Spec: spec(20, false, prefs{}.w("*", 1)), Clusters: names("A", "B"),
				CurrentReplicas: counts{"A": 18}, EstimatedCapacity: counts{"A": 11}},
			wantPlan: counts{"A": 11, "B": 9},
		},
		{
			name: "current replicas of non-candidates are ignored",
			in: Input{Spec: spec(10, false, prefs{}.w("*", 1)), Clusters: names("A", "B"),
				CurrentReplicas: counts{"Z": 10}},
			wantPlan: counts{"A": 5, "B": 5},
		},
		{
			name: "a negative capacity counts as none",
			in: Input{Spec: spec(10, true, prefs{}.w("*", 1)), Clusters: names("A", "B"),
				EstimatedCapacity: counts{"A": -3}},
			wantPlan:     counts{"A": 0, "B": 10},
			wantOverflow: counts{"A": 5},
		},
		{
			name:     "huge weights do not overflow",
			in:       Input{Spec: spec(9, true, prefs{}.w("A", 1<<62).w("B", 1<<62).w("C", 1<<62)), Clusters: names("A", "B", "C"), Key: "test-ns/test-deployment"},
			wantPlan: counts{"A": 3, "B": 3, "C": 3},
		},
		{
			name: "weights summing beyond 64 bits still split by proportion",
			in: Input{Spec: spec(math.MaxInt32, true, prefs{}.w("A", math.MaxInt64).w("B", math.MaxInt64).w("C", math.MaxInt64).w("D", 1)),
				Clusters: names("A", "B", "C", "D")},
			// Each share rounds up to 715827883 until the last of the three gets what is left;
			// the hash order for key "" is B, C, A.
			wantPlan: counts{"A": 715827881, "B": 715827883, "C": 715827883, "D": 0},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Plan(tc.in)
			if err != nil {
				t.Fatalf("Plan() error = %v", err)
			}
			if diff := cmp.Diff(tc.wantPlan, got.Plan); diff != "" {
				t.Errorf("Plan mismatch (-want +got):\n%s", diff)
			}
			wantOverflow := tc.wantOverflow
			if wantOverflow == nil {
				wantOverflow = counts{}
			}
			if diff := cmp.Diff(wantOverflow, got.Overflow); diff != "" {
				t.Errorf("Overflow mismatch (-want +got):\n%s", diff)
			}
			wantReplicas := counts{}
			for c, v := range tc.wantPlan {
				wantReplicas[c] = v + wantOverflow[c]
			}
			if diff := cmp.Diff(wantReplicas, got.Replicas); diff != "" {
				t.Errorf("Replicas mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPlanRefusesInvalidSpecs(t *testing.T) {
	cases := []struct {
		name string
		spec schedulingv1alpha1.ReplicaSchedulingPreferenceSpec
	}{
		{name: "negative total", spec: spec(-3, false, nil)},
		{name: "negative weight", spec: spec(3, false, prefs{}.w("*", -1))},
		{name: "negative minimum", spec: spec(3, false, prefs{}.mmw("A", -1, -1, 1))},
		{name: "negative maximum", spec: spec(3, false, schedulingv1alpha1ClusterWithMax("A", -2))},
		{name: "minimum above maximum", spec: spec(10, false, prefs{}.mmw("local", 5, 2, 1))},
		{name: "an invalid entry for a cluster that is not a candidate", spec: spec(10, false, prefs{}.w("*", 1).mmw("gone", 5, 2, 1))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Plan(Input{Spec: tc.spec, Clusters: names("A", "local")})
			if err == nil {
				t.Fatalf("Plan() = %v, want an error", got)
			}
			if got.Plan != nil || got.Replicas != nil {
				t.Errorf("Plan() returned a plan with its error: %+v", got)
			}
		})
	}
}

// schedulingv1alpha1ClusterWithMax builds a clusters map with one entry whose maxReplicas is
// set as given, negative or not.
func schedulingv1alpha1ClusterWithMax(name string, maxReplicas int64) prefs {
	return prefs{name: {MaxReplicas: &maxReplicas, Weight: 1}}
}

func TestFNV1MatchesHashFNV(t *testing.T) {
	cases := []struct{ name, key string }{
		{"", ""}, {"A", ""}, {"local", "test-namespace/rsp-even"}, {"cce", "test-namespace/rsp-even"}, {"ünïcode", "ns/x"},
	}
	for _, tc := range cases {
		t.Run(tc.name+"+"+tc.key, func(t *testing.T) {
			h := fnv.New32()
			_, _ = h.Write([]byte(tc.name + tc.key)) // A hash never fails to write.
			if got, want := fnv1(tc.name, tc.key), h.Sum32(); got != want {
				t.Errorf("fnv1(%q, %q) = %d, want %d", tc.name, tc.key, got, want)
			}
		})
	}
}

// TestPlanTieBreakUsesKey checks that the key, not the cluster name alone, decides which of
// two equal clusters gets the odd replica.
func TestPlanTieBreakUsesKey(t *testing.T) {
	winner := func(key string) string {
		res, err := Plan(Input{Spec: spec(1, true, nil), Clusters: names("local", "cce"), Key: key})
		if err != nil {
			t.Fatalf("Plan() error = %v", err)
		}
		for c, v := range res.Plan {
			if v == 1 {
				return c
			}
		}
		t.Fatalf("Plan() = %v, want one replica placed", res.Plan)
		return ""
	}
	seen := map[string]bool{}
	for i := range 20 {
		key := fmt.Sprintf("ns-%d/app", i)
		c := winner(key)
		hLocal, hCCE := fnv1("local", key), fnv1("cce", key)
		want := "local"
		if hCCE < hLocal {
			want = "cce"
		}
		if c != want {
			t.Errorf("key %q: replica went to %s, want %s (hash local %d, cce %d)", key, c, want, hLocal, hCCE)
		}
		seen[c] = true
	}
	if len(seen) != 2 {
		t.Errorf("over 20 keys the odd replica always went to the same cluster: %v", seen)
	}
}
