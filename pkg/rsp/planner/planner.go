package planner

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"math/big"
	"math/bits"
	"slices"

	schedulingv1alpha1 "github.com/fedplane/fedplane/api/scheduling/v1alpha1"
)

// Wildcard is the key of the clusters map whose preferences apply to every cluster without an
// entry of its own.
const Wildcard = "*"

// Input is what Plan needs to spread one preference's replicas.
type Input struct {
	// Spec is the preference. Plan reads TotalReplicas, Rebalance and Clusters. An empty
	// Clusters map means {"*": {weight: 1}}.
	Spec schedulingv1alpha1.ReplicaSchedulingPreferenceSpec
	// Clusters are the candidate cluster names, in any order; duplicates count once.
	Clusters []string
	// CurrentReplicas are the replicas running now per cluster. It may be nil. It is used only
	// when Spec.Rebalance is false, and only for candidates.
	CurrentReplicas map[string]int64
	// EstimatedCapacity is, for clusters whose pods have been unschedulable for too long, how
	// many replicas they can run. Clusters without an entry have no known limit. A negative
	// estimate counts as zero.
	EstimatedCapacity map[string]int64
	// Key is "namespace/name" of the preference. It breaks ties between clusters of equal
	// weight so that different workloads do not all favour the same cluster.
	Key string
}

// Result is a plan. Every map has an entry for every candidate in Plan and Replicas; Overflow
// has entries only where it is positive.
type Result struct {
	// Plan is how many replicas each candidate gets within its maxReplicas and its estimated
	// capacity: what KubeFed's planner returns as its first map. A candidate that has neither
	// its own entry nor a "*" entry gets 0.
	Plan map[string]int64
	// Overflow is, per cluster, how many replicas the weights gave it beyond its estimated
	// capacity: KubeFed's second map. With Rebalance false it is trimmed to the replicas that
	// could not be placed anywhere. These replicas are not part of Plan.
	Overflow map[string]int64
	// Replicas is Plan plus Overflow per cluster: the figures that KubeFed's scheduler writes
	// into the target's overrides, so that a cluster that frees capacity can take the overflow.
	// Its sum can exceed TotalReplicas by the overflow.
	Replicas map[string]int64
}

// Validate refuses a spec that the API refuses: a negative totalReplicas, or a cluster entry
// with a negative minReplicas, maxReplicas or weight, or a minReplicas above its maxReplicas.
func Validate(spec schedulingv1alpha1.ReplicaSchedulingPreferenceSpec) error {
	if spec.TotalReplicas < 0 {
		return fmt.Errorf("invalid preference: totalReplicas %d is negative", spec.TotalReplicas)
	}
	for _, name := range slices.Sorted(maps.Keys(spec.Clusters)) {
		p := spec.Clusters[name]
		switch {
		case p.MinReplicas < 0:
			return fmt.Errorf("invalid preference for cluster %q: minReplicas %d is negative", name, p.MinReplicas)
		case p.MaxReplicas != nil && *p.MaxReplicas < 0:
			return fmt.Errorf("invalid preference for cluster %q: maxReplicas %d is negative", name, *p.MaxReplicas)
		case p.Weight < 0:
			return fmt.Errorf("invalid preference for cluster %q: weight %d is negative", name, p.Weight)
		case p.MaxReplicas != nil && p.MinReplicas > *p.MaxReplicas:
			return fmt.Errorf("invalid preference for cluster %q: minReplicas %d is greater than maxReplicas %d", name, p.MinReplicas, *p.MaxReplicas)
		}
	}
	return nil
}

// Plan spreads Spec.TotalReplicas over the candidate clusters the way KubeFed does.
//
// Each candidate takes the preferences of its own entry in Spec.Clusters, else those of the
// "*" entry, else it takes no part and gets 0. The taking part clusters are put in order:
// higher weight first, and among equal weights the lower FNV-1 32-bit hash of the cluster name
// followed by Key first (then the name, should two hashes collide). In that order:
//
//  1. Each cluster gets its minReplicas, as far as the replicas left and its estimated
//     capacity allow.
//  2. When Rebalance is false, a cluster that runs more replicas than it got keeps them, up to
//     its maxReplicas, its capacity and the replicas left. These kept replicas are remembered
//     as preallocated.
//  3. The rest is handed out in passes. A pass shares the replicas left at its start among the
//     clusters still in play by weight, rounding each share up, never giving more than is
//     left. A cluster's share first uses up its preallocated replicas (which counts as
//     progress but hands out nothing new); the remainder is added to it. A cluster that
//     reaches its maxReplicas, or its capacity, is held there and leaves the later passes;
//     what the capacity cut off is recorded as its overflow. Passes stop when nothing is
//     left, when a pass changes nothing, or when the weights of the clusters in play add up
//     to zero.
//
// With Rebalance false the overflow is then trimmed to the replicas left unplaced. Unlike
// KubeFed, the weighted shares are computed without integer overflow for any weights. A spec
// that Validate refuses is an error and nothing is planned.
func Plan(in Input) (Result, error) {
	if err := Validate(in.Spec); err != nil {
		return Result{}, fmt.Errorf("failed to plan replicas: %w", err)
	}
	prefs := in.Spec.Clusters
	if len(prefs) == 0 {
		prefs = map[string]schedulingv1alpha1.ClusterPreferences{Wildcard: {Weight: 1}}
	}
	wildcard, hasWildcard := prefs[Wildcard]

	res := Result{
		Plan:     make(map[string]int64, len(in.Clusters)),
		Overflow: map[string]int64{},
	}
	entries := make([]entry, 0, len(in.Clusters))
	for _, name := range in.Clusters {
		if _, dup := res.Plan[name]; dup {
			continue
		}
		res.Plan[name] = 0
		p, ok := prefs[name]
		if !ok {
			if !hasWildcard {
				continue
			}
			p = wildcard
		}
		e := entry{name: name, hash: fnv1(name, in.Key), min: p.MinReplicas, max: math.MaxInt64, weight: p.Weight, capacity: math.MaxInt64}
		if p.MaxReplicas != nil {
			e.max = *p.MaxReplicas
		}
		if c, ok := in.EstimatedCapacity[name]; ok {
			e.capacity = max(c, 0)
			e.hasCapacity = true
		}
		entries = append(entries, e)
	}
	slices.SortFunc(entries, func(a, b entry) int {
		if c := cmp.Compare(b.weight, a.weight); c != 0 {
			return c
		}
		if c := cmp.Compare(a.hash, b.hash); c != 0 {
			return c
		}
		return cmp.Compare(a.name, b.name)
	})

	remaining := int64(in.Spec.TotalReplicas)

	// Step 1: minimums.
	for i := range entries {
		e := &entries[i]
		e.plan = min(e.min, remaining, e.capacity)
		remaining -= e.plan
	}

	// Step 2: keep what runs when rebalancing is off.
	if !in.Spec.Rebalance {
		for i := range entries {
			e := &entries[i]
			current, ok := in.CurrentReplicas[e.name]
			if !ok || current <= e.plan {
				continue
			}
			target := min(current, e.max, e.capacity)
			extra := max(min(target-e.plan, remaining), 0)
			remaining -= extra
			e.prealloc = extra
			e.plan += extra
		}
	}

	// Step 3: weighted passes.
	active := make([]*entry, len(entries))
	for i := range entries {
		active[i] = &entries[i]
	}
	for modified := true; modified && remaining > 0; {
		modified = false
		sum := sumWeights(active)
		if sum.isZero() {
			break
		}
		toShare := remaining
		kept := active[:0]
		for _, e := range active {
			start := e.plan
			extra := min(sum.ceilShare(toShare, e.weight), remaining)
			used := min(extra, e.prealloc)
			if used > 0 {
				e.prealloc -= used
				extra -= used
				modified = true
			}
			total := start + extra
			full := false
			if total > e.max {
				total = e.max
				full = true
			}
			if e.hasCapacity && total > e.capacity {
				res.Overflow[e.name] = total - e.capacity
				total = e.capacity
				full = true
			}
			if !full {
				kept = append(kept, e)
			}
			remaining -= total - start
			e.plan = total
			if total > start {
				modified = true
			}
		}
		active = kept
	}

	if !in.Spec.Rebalance {
		for name, v := range res.Overflow {
			if v = min(v, remaining); v > 0 {
				res.Overflow[name] = v
			} else {
				delete(res.Overflow, name)
			}
		}
	}

	for _, e := range entries {
		res.Plan[e.name] = e.plan
	}
	res.Replicas = make(map[string]int64, len(res.Plan))
	for name, v := range res.Plan {
		res.Replicas[name] = v + res.Overflow[name]
	}
	return res, nil
}

// entry is one taking part cluster and its running state.
type entry struct {
	name   string
	hash   uint32
	min    int64
	max    int64 // math.MaxInt64 when unlimited.
	weight int64
	// capacity is math.MaxInt64 when unknown.
	capacity    int64
	hasCapacity bool
	plan        int64
	prealloc    int64
}

// fnv1 is the 32-bit FNV-1 hash (as hash/fnv.New32, not New32a) of name followed by key.
func fnv1(name, key string) uint32 {
	const (
		offset = 2166136261
		prime  = 16777619
	)
	h := uint32(offset)
	for i := 0; i < len(name); i++ {
		h *= prime
		h ^= uint32(name[i])
	}
	for i := 0; i < len(key); i++ {
		h *= prime
		h ^= uint32(key[i])
	}
	return h
}

// weightSum is a sum of non-negative int64 weights, which may exceed 64 bits.
type weightSum struct{ hi, lo uint64 }

func sumWeights(es []*entry) weightSum {
	var s weightSum
	for _, e := range es {
		var carry uint64
		s.lo, carry = bits.Add64(s.lo, uint64(e.weight), 0) //nolint:gosec // G115: Validate refuses negative weights.
		s.hi += carry
	}
	return s
}

func (s weightSum) isZero() bool { return s.hi == 0 && s.lo == 0 }

// ceilShare returns ceil(n*w/s) for 0 <= n, 0 <= w <= s and s > 0, without overflow. The
// result is at most n.
func (s weightSum) ceilShare(n, w int64) int64 {
	if s.hi == 0 {
		hi, lo := bits.Mul64(uint64(n), uint64(w)) //nolint:gosec // G115: n and w are not negative.
		lo, carry := bits.Add64(lo, s.lo-1, 0)
		hi += carry
		// hi < s.lo holds because the quotient is at most n, which fits in 64 bits.
		q, _ := bits.Div64(hi, lo, s.lo)
		return int64(q) //nolint:gosec // G115: q is at most n, an int64.
	}
	sum := new(big.Int).Lsh(new(big.Int).SetUint64(s.hi), 64)
	sum.Or(sum, new(big.Int).SetUint64(s.lo))
	num := new(big.Int).Mul(big.NewInt(n), big.NewInt(w))
	num.Add(num, sum)
	num.Sub(num, big.NewInt(1))
	return num.Quo(num, sum).Int64()
}
