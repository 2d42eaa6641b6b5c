package planner

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	schedulingv1alpha1 "github.com/fedplane/fedplane/api/scheduling/v1alpha1"
)

// fuzzInput turns fuzz bytes into a planner input. The first byte gives the number of
// candidates (up to 8) and a wildcard entry; then each candidate reads six bytes: flags, min,
// max, weight, current and capacity. Values are small, except that 0xff stands for -1 (so
// that validation is exercised) and a weight of 0xfe for math.MaxInt64.
func fuzzInput(total int32, rebalance bool, data []byte, key string) Input {
	next := func() byte {
		if len(data) == 0 {
			return 0
		}
		b := data[0]
		data = data[1:]
		return b
	}
	value := func(b byte) int64 {
		if b == 0xff {
			return -1
		}
		return int64(b % 64)
	}
	head := next()
	in := Input{
		Spec: schedulingv1alpha1.ReplicaSchedulingPreferenceSpec{
			TotalReplicas: total,
			Rebalance:     rebalance,
			Clusters:      map[string]schedulingv1alpha1.ClusterPreferences{},
		},
		CurrentReplicas:   map[string]int64{},
		EstimatedCapacity: map[string]int64{},
		Key:               key,
	}
	n := int(head % 9)
	for i := range n + 1 {
		flags, minB, maxB, weightB, currentB, capacityB := next(), next(), next(), next(), next(), next()
		name := fmt.Sprintf("c%d", i)
		if i == n {
			// The last entry is the wildcard, present when the head byte says so.
			if head&0x80 == 0 {
				break
			}
			name = Wildcard
		} else {
			in.Clusters = append(in.Clusters, name)
			if flags&0x04 != 0 {
				in.CurrentReplicas[name] = value(currentB)
			}
			if flags&0x08 != 0 {
				in.EstimatedCapacity[name] = value(capacityB)
			}
			if flags&0x01 == 0 {
				continue
			}
		}
		p := schedulingv1alpha1.ClusterPreferences{MinReplicas: value(minB), Weight: value(weightB)}
		if weightB == 0xfe {
			p.Weight = math.MaxInt64
		}
		if flags&0x02 != 0 {
			m := value(maxB)
			p.MaxReplicas = &m
		}
		in.Spec.Clusters[name] = p
	}
	return in
}

// FuzzPlan checks the planner's invariants on arbitrary preferences.
func FuzzPlan(f *testing.F) {
	f.Add(int32(9), false, []byte{0x82, 0x03, 4, 6, 1, 0, 0, 0x03, 4, 8, 2, 0, 0}, "test-namespace/rsp-minmax")
	f.Add(int32(50), true, []byte{0x83, 0x09, 0, 0, 1, 0, 10, 0x0b, 0, 20, 1, 0, 5, 0x00, 0, 0, 0, 0, 0, 0x01, 0, 0, 1, 0, 0}, "")
	f.Add(int32(15), false, []byte{0x82, 0x04, 0, 0, 0, 7, 0, 0x04, 0, 0, 0, 8, 0, 0x00, 0, 0, 1, 0, 0}, "ns/x")
	f.Add(int32(2147483647), true, []byte{0x03, 0x01, 0, 0, 0xfe, 0, 0, 0x01, 0, 0, 0xfe, 0, 0, 0x01, 0, 0, 0xfe, 0, 0}, "k")
	f.Add(int32(-1), false, []byte{0x01, 0x03, 5, 2, 1, 0, 0}, "bad")
	f.Add(int32(60), false, []byte{0x03, 0x0d, 0, 0, 1, 0, 10, 0x0d, 0, 0, 5, 30, 0xff, 0x00, 0, 0, 0, 0, 0}, "ns/y")

	f.Fuzz(func(t *testing.T, total int32, rebalance bool, data []byte, key string) {
		in := fuzzInput(total, rebalance, data, key)
		res, err := Plan(in)
		if verr := Validate(in.Spec); (err != nil) != (verr != nil) {
			t.Fatalf("Plan() error = %v but Validate() = %v", err, verr)
		}
		if err != nil {
			return
		}

		// Deterministic, and independent of the order and repetition of candidates.
		again, err := Plan(in)
		if err != nil {
			t.Fatalf("second Plan() error = %v", err)
		}
		if diff := cmp.Diff(res, again); diff != "" {
			t.Fatalf("Plan() is not deterministic (-first +second):\n%s", diff)
		}
		shuffled := in
		shuffled.Clusters = slices.Clone(in.Clusters)
		slices.Reverse(shuffled.Clusters)
		shuffled.Clusters = append(shuffled.Clusters, in.Clusters...)
		reordered, err := Plan(shuffled)
		if err != nil {
			t.Fatalf("Plan() with reordered candidates error = %v", err)
		}
		if diff := cmp.Diff(res, reordered); diff != "" {
			t.Fatalf("Plan() depends on the candidates' order (-given +reversed):\n%s", diff)
		}

		prefs := in.Spec.Clusters
		if len(prefs) == 0 {
			prefs = map[string]schedulingv1alpha1.ClusterPreferences{Wildcard: {Weight: 1}}
		}
		pref := func(c string) (schedulingv1alpha1.ClusterPreferences, bool) {
			if p, ok := prefs[c]; ok {
				return p, true
			}
			p, ok := prefs[Wildcard]
			return p, ok
		}
		// effCap is the most a cluster can be planned: its maximum and its capacity.
		effCap := func(c string) int64 {
			limit := int64(math.MaxInt64)
			if p, _ := pref(c); p.MaxReplicas != nil {
				limit = *p.MaxReplicas
			}
			if capacity, ok := in.EstimatedCapacity[c]; ok {
				limit = min(limit, max(capacity, 0))
			}
			return limit
		}

		if len(res.Plan) != len(in.Clusters) || len(res.Replicas) != len(in.Clusters) {
			t.Fatalf("Plan has %d and Replicas %d entries, want one per candidate (%d)", len(res.Plan), len(res.Replicas), len(in.Clusters))
		}
		var sum, sumMin int64
		minsFit := true
		for _, c := range in.Clusters {
			planned, ok := res.Plan[c]
			if !ok {
				t.Fatalf("candidate %s is missing from the plan %v", c, res.Plan)
			}
			sum += planned
			if planned < 0 {
				t.Fatalf("cluster %s planned %d replicas", c, planned)
			}
			if res.Replicas[c] != planned+res.Overflow[c] {
				t.Fatalf("cluster %s: Replicas %d != Plan %d + Overflow %d", c, res.Replicas[c], planned, res.Overflow[c])
			}
			p, ok := pref(c)
			if !ok {
				if planned != 0 || res.Overflow[c] != 0 {
					t.Fatalf("cluster %s has no preference but got %d (+%d overflow)", c, planned, res.Overflow[c])
				}
				continue
			}
			if planned > effCap(c) {
				t.Fatalf("cluster %s planned %d, above its limit %d", c, planned, effCap(c))
			}
			if p.MaxReplicas != nil && res.Replicas[c] > *p.MaxReplicas {
				t.Fatalf("cluster %s gets %d with overflow, above its maximum %d", c, res.Replicas[c], *p.MaxReplicas)
			}
			sumMin += p.MinReplicas
			if effCap(c) < p.MinReplicas {
				minsFit = false
			}
		}
		for c, v := range res.Overflow {
			if v <= 0 {
				t.Fatalf("cluster %s has overflow %d, want only positive entries", c, v)
			}
			if _, ok := in.EstimatedCapacity[c]; !ok {
				t.Fatalf("cluster %s overflows without an estimated capacity", c)
			}
		}
		if sum > int64(in.Spec.TotalReplicas) {
			t.Fatalf("plan sum %d is above the total %d: %v", sum, in.Spec.TotalReplicas, res.Plan)
		}
		if sumMin <= int64(in.Spec.TotalReplicas) && minsFit {
			for _, c := range in.Clusters {
				if p, ok := pref(c); ok && res.Plan[c] < p.MinReplicas {
					t.Fatalf("cluster %s planned %d, below its minimum %d although the minimums fit: %v", c, res.Plan[c], p.MinReplicas, res.Plan)
				}
			}
		}
		// When the plan falls short of the total, no cluster with weight could take more.
		if sum < int64(in.Spec.TotalReplicas) {
			for _, c := range in.Clusters {
				if p, ok := pref(c); ok && p.Weight > 0 && res.Plan[c] < effCap(c) {
					t.Fatalf("plan sum %d < total %d, but cluster %s (weight %d) is at %d below its limit %d: %v",
						sum, in.Spec.TotalReplicas, c, p.Weight, res.Plan[c], effCap(c), res.Plan)
				}
			}
		}
	})
}
