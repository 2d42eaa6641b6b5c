package schedule

import (
	"slices"
	"sort"

	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
	"github.com/fedplane/fedplane/pkg/overrides"
)

// ReplicasPath is the field that a ReplicaSchedulingPreference sets per cluster.
const ReplicasPath = "/spec/replicas"

// WithReplicas returns the overrides with /spec/replicas set for every cluster of replicas, in
// a stable order: an existing /spec/replicas override keeps its place, a cluster's new one goes
// after its other overrides, and clusters without overrides are added after the others, sorted
// by name. Every other override is kept as written. The input is not modified.
func WithReplicas(all []typesv1beta1.ClusterOverrides, replicas map[string]int64) []typesv1beta1.ClusterOverrides {
	out := make([]typesv1beta1.ClusterOverrides, 0, len(all)+len(replicas))
	seen := map[string]bool{}
	for _, co := range all {
		co.ClusterOverrides = slices.Clone(co.ClusterOverrides)
		if n, ok := replicas[co.ClusterName]; ok {
			co.ClusterOverrides = setReplicas(co.ClusterOverrides, n)
			seen[co.ClusterName] = true
		}
		out = append(out, co)
	}
	var added []string
	for name := range replicas {
		if !seen[name] {
			added = append(added, name)
		}
	}
	sort.Strings(added)
	for _, name := range added {
		out = append(out, typesv1beta1.ClusterOverrides{ClusterName: name, ClusterOverrides: setReplicas(nil, replicas[name])})
	}
	return out
}

func setReplicas(ops []typesv1beta1.Override, n int64) []typesv1beta1.Override {
	value, _ := typesv1beta1.NewRaw(n) // An int64 always encodes.
	op := typesv1beta1.Override{Op: overrides.OpAdd, Path: ReplicasPath, Value: &value}
	out := make([]typesv1beta1.Override, 0, len(ops)+1)
	placed := false
	for _, o := range ops {
		if o.Path != ReplicasPath {
			out = append(out, o)
			continue
		}
		if !placed {
			out = append(out, op)
			placed = true
		}
	}
	if !placed {
		out = append(out, op)
	}
	return out
}
