package schedule

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	schedulingv1alpha1 "github.com/fedplane/fedplane/api/scheduling/v1alpha1"
	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
	"github.com/fedplane/fedplane/pkg/placement"
	"github.com/fedplane/fedplane/pkg/rsp/planner"
)

// Input is what Schedule needs to place the replicas of one federated workload.
type Input struct {
	// Preference is the ReplicaSchedulingPreference; its namespace and name break ties.
	Preference *schedulingv1alpha1.ReplicaSchedulingPreference
	// Target is the spec of the federated workload: its placement and overrides as they are.
	Target typesv1beta1.FederatedSpec
	// Clusters holds the registered clusters; only their names and readiness are used here.
	Clusters []placement.Cluster
	// Candidates are the clusters to spread the replicas over, as Candidates returns them for
	// the preference and the target. The caller finds them once, since it also reads the
	// members' state (CurrentReplicas, EstimatedCapacity) of these clusters only.
	Candidates []string
	// CurrentReplicas are the replicas each candidate cluster runs now (its workload's
	// spec.replicas); they matter only when the preference does not rebalance.
	CurrentReplicas map[string]int64
	// EstimatedCapacity is, per candidate cluster with pods unschedulable for too long, how
	// many replicas it can run.
	EstimatedCapacity map[string]int64
}

// Scheduled is the outcome of Schedule.
type Scheduled struct {
	// Candidates are the clusters the replicas are spread over, sorted.
	Candidates []string
	// Result is the planner's result over the candidates.
	Result planner.Result
	// Kept are the clusters that the target's placement lists and that are registered but not
	// Ready, sorted. They stay in the placement with their overrides untouched, so that their
	// copy is neither deleted nor changed while they are away, and nothing is deleted and
	// created again when they return. Their replicas are not counted in the plan.
	Kept []string
	// Placement is the target's new placement: the candidates and the kept clusters, sorted,
	// with the target's clusterSelector left as it was.
	Placement typesv1beta1.Placement
	// Overrides are the target's new overrides: every override the user wrote, with a
	// /spec/replicas override per candidate (see WithReplicas).
	Overrides []typesv1beta1.ClusterOverrides
	// Changed tells whether Placement or Overrides differ from the target's.
	Changed bool
}

// Candidates returns the clusters that a preference spreads its target's replicas over, sorted.
// As in KubeFed, they are every Ready registered cluster: neither the target's placement nor its
// namespace's FederatedNamespace limits them. With intersectWithClusterSelector they are only
// the Ready clusters that match both the target's placement.clusterSelector and, for a namespaced
// target, the clusterSelector of its namespace's FederatedNamespace. placement.clusters is not
// looked at on either, since the controller writes the target's itself; a missing
// clusterSelector matches no cluster and an empty one matches every cluster, and a namespace
// without a FederatedNamespace has no candidate. An invalid selector is an error that names it.
func Candidates(spec schedulingv1alpha1.ReplicaSchedulingPreferenceSpec, target typesv1beta1.Placement, clusters placement.Input) ([]string, error) {
	own, ns := labels.Everything(), labels.Everything()
	if spec.IntersectWithClusterSelector {
		var err error
		if own, err = metav1.LabelSelectorAsSelector(target.ClusterSelector); err != nil {
			return nil, fmt.Errorf("failed to find the candidate clusters: the target's spec.placement.clusterSelector: %w", err)
		}
		if clusters.Namespaced && !clusters.IsFederatedNamespace {
			if clusters.NamespacePlacement == nil {
				return nil, nil
			}
			if ns, err = metav1.LabelSelectorAsSelector(clusters.NamespacePlacement.ClusterSelector); err != nil {
				return nil, fmt.Errorf("failed to find the candidate clusters: the FederatedNamespace's spec.placement.clusterSelector: %w", err)
			}
		}
	}
	var out []string
	for _, c := range clusters.Clusters {
		if c.Ready && own.Matches(labels.Set(c.Labels)) && ns.Matches(labels.Set(c.Labels)) {
			out = append(out, c.Name)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// NoCandidates says why Candidates found no cluster, in words that name the fields involved.
func NoCandidates(spec schedulingv1alpha1.ReplicaSchedulingPreferenceSpec, clusters placement.Input) string {
	switch {
	case !spec.IntersectWithClusterSelector:
		return "no Ready cluster to place replicas in"
	case clusters.Namespaced && !clusters.IsFederatedNamespace && clusters.NamespacePlacement == nil:
		return "spec.intersectWithClusterSelector is set and the namespace has no FederatedNamespace"
	default:
		return "spec.intersectWithClusterSelector is set and no Ready cluster matches both the target's " +
			"spec.placement.clusterSelector and its FederatedNamespace's (a missing clusterSelector matches no cluster)"
	}
}

// Schedule plans the replicas of a federated workload that a ReplicaSchedulingPreference
// governs, as the RSP controller writes them: the candidates (in.Candidates) share the total
// by planner.Plan, the placement becomes the candidates plus the kept clusters (see
// Scheduled.Kept), and every candidate gets a /spec/replicas override of its planned replicas
// plus its overflow. With no candidate at all nothing changes: the target keeps its placement
// and overrides, so that no copy is removed because no cluster was Ready.
func Schedule(in Input) (Scheduled, error) {
	pref := in.Preference
	candidates := in.Candidates
	res, err := planner.Plan(planner.Input{
		Spec:              pref.Spec,
		Clusters:          candidates,
		CurrentReplicas:   in.CurrentReplicas,
		EstimatedCapacity: in.EstimatedCapacity,
		Key:               pref.Namespace + "/" + pref.Name,
	})
	if err != nil {
		return Scheduled{}, err
	}
	out := Scheduled{Candidates: candidates, Result: res, Placement: in.Target.Placement, Overrides: in.Target.Overrides}
	if len(candidates) == 0 {
		return out, nil
	}
	ready := map[string]bool{}
	for _, c := range in.Clusters {
		ready[c.Name] = c.Ready
	}
	names := slices.Clone(candidates)
	for _, ref := range in.Target.Placement.Clusters {
		isReady, registered := ready[ref.Name]
		if registered && !isReady && !slices.Contains(names, ref.Name) {
			out.Kept = append(out.Kept, ref.Name)
			names = append(names, ref.Name)
		}
	}
	slices.Sort(out.Kept)
	slices.Sort(names)
	out.Placement = typesv1beta1.Placement{ClusterSelector: in.Target.Placement.ClusterSelector, Clusters: make([]typesv1beta1.ClusterReference, 0, len(names))}
	for _, name := range names {
		out.Placement.Clusters = append(out.Placement.Clusters, typesv1beta1.ClusterReference{Name: name})
	}
	out.Overrides = WithReplicas(in.Target.Overrides, res.Replicas)
	out.Changed = !slices.Equal(clusterNames(in.Target.Placement.Clusters), names) || !equalOverrides(in.Target.Overrides, out.Overrides)
	return out, nil
}

func clusterNames(refs []typesv1beta1.ClusterReference) []string {
	if refs == nil {
		return nil
	}
	names := make([]string, 0, len(refs))
	for _, r := range refs {
		names = append(names, r.Name)
	}
	return names
}

// equalOverrides compares overrides as they are written: same clusters in the same order,
// same operations, and the same JSON values.
func equalOverrides(a, b []typesv1beta1.ClusterOverrides) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].ClusterName != b[i].ClusterName || len(a[i].ClusterOverrides) != len(b[i].ClusterOverrides) {
			return false
		}
		for j, x := range a[i].ClusterOverrides {
			y := b[i].ClusterOverrides[j]
			if x.Op != y.Op || x.Path != y.Path || !reflect.DeepEqual(x.Value, y.Value) {
				return false
			}
		}
	}
	return true
}

// MemberState is the state of a governed workload in one candidate cluster, as read from it.
type MemberState struct {
	// Known is false when the cluster could not be read.
	Known bool
	// Exists tells whether the cluster has the workload.
	Exists bool
	// Replicas is the workload's spec.replicas in the cluster.
	Replicas int64
	// Unschedulable counts its pods that have been unschedulable for too long.
	Unschedulable int64
}

// MemberReplicas derives the planner's inputs from the member states. A cluster's current
// replicas are what it is asked to run (its spec.replicas), not what already runs, so that a
// plan still rolling out is not mistaken for running replicas that must stay. A cluster with
// unschedulable pods can run its replicas less those pods. A cluster whose state is unknown
// keeps the replicas that the target's /spec/replicas override gives it, with no capacity
// estimate; a cluster without the workload runs nothing.
func MemberReplicas(states map[string]MemberState, overrides []typesv1beta1.ClusterOverrides) (current, capacity map[string]int64) {
	current, capacity = map[string]int64{}, map[string]int64{}
	var given map[string]int64
	for name, st := range states {
		switch {
		case !st.Known:
			if given == nil {
				given = replicasOverrides(overrides)
			}
			current[name] = given[name]
		case st.Exists:
			current[name] = st.Replicas
			if st.Unschedulable > 0 {
				capacity[name] = max(st.Replicas-st.Unschedulable, 0)
			}
		}
	}
	return current, capacity
}

// replicasOverrides returns the replicas that the /spec/replicas overrides give each cluster.
func replicasOverrides(all []typesv1beta1.ClusterOverrides) map[string]int64 {
	out := map[string]int64{}
	for _, co := range all {
		for _, o := range co.ClusterOverrides {
			var n int64
			if o.Path == ReplicasPath && o.Value != nil && json.Unmarshal(o.Value.JSON, &n) == nil {
				out[co.ClusterName] = n
			}
		}
	}
	return out
}
