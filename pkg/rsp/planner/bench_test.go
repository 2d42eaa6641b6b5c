package planner

import (
	"fmt"
	"testing"

	schedulingv1alpha1 "github.com/fedplane/fedplane/api/scheduling/v1alpha1"
)

// benchInput builds n candidates with a wildcard, some weighted entries, some maxima and
// capacities, and current replicas on a third of them, with rebalancing off.
func benchInput(n int32) Input {
	in := Input{
		Spec: schedulingv1alpha1.ReplicaSchedulingPreferenceSpec{
			TotalReplicas: 10 * n,
			Clusters:      map[string]schedulingv1alpha1.ClusterPreferences{Wildcard: {Weight: 1}},
		},
		CurrentReplicas:   map[string]int64{},
		EstimatedCapacity: map[string]int64{},
		Key:               "bench/app",
	}
	for i := range n {
		name := fmt.Sprintf("cluster-%05d", i)
		in.Clusters = append(in.Clusters, name)
		if i%5 == 0 {
			maxReplicas := int64(4 + i%9)
			in.Spec.Clusters[name] = schedulingv1alpha1.ClusterPreferences{MinReplicas: 2, MaxReplicas: &maxReplicas, Weight: int64(1 + i%4)}
		}
		if i%3 == 0 {
			in.CurrentReplicas[name] = int64(i % 17)
		}
		if i%11 == 0 {
			in.EstimatedCapacity[name] = int64(i % 7)
		}
	}
	return in
}

func BenchmarkPlan(b *testing.B) {
	for _, n := range []int32{10, 1000, 10000} {
		in := benchInput(n)
		b.Run(fmt.Sprintf("clusters=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				res, err := Plan(in)
				if err != nil {
					b.Fatal(err)
				}
				if len(res.Plan) != int(n) {
					b.Fatalf("got %d planned clusters, want %d", len(res.Plan), n)
				}
			}
		})
	}
}
