package plan

import (
	schedulingv1alpha1 "github.com/fedplane/fedplane/api/scheduling/v1alpha1"
	typesv1beta1 "github.com/fedplane/fedplane/api/types/v1beta1"
	"github.com/fedplane/fedplane/pkg/placement"
	"github.com/fedplane/fedplane/pkg/rsp/schedule"
)

// scheduleReplicas plans the replicas of an object that a ReplicaSchedulingPreference
// governs, as the RSP controller does, without member state: it returns the replicas per
// planned cluster, the rewritten placement input and overrides, and the candidate clusters.
func scheduleReplicas(pref *schedulingv1alpha1.ReplicaSchedulingPreference, fed *typesv1beta1.FederatedObject, in placement.Input) (map[string]int64, placement.Input, []typesv1beta1.ClusterOverrides, []string, error) {
	candidates, err := schedule.Candidates(pref.Spec, fed.Spec.Placement, in)
	if err != nil {
		return nil, in, nil, nil, err
	}
	s, err := schedule.Schedule(schedule.Input{Preference: pref, Target: fed.Spec, Clusters: in.Clusters, Candidates: candidates})
	if err != nil {
		return nil, in, nil, nil, err
	}
	scheduled := in
	scheduled.Placement = s.Placement
	return s.Result.Replicas, scheduled, s.Overrides, candidates, nil
}
