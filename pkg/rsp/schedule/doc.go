// Package schedule decides where the replicas of a workload that a ReplicaSchedulingPreference
// governs go: the candidate clusters, the planner's inputs derived from the members' state, and
// the target's new placement and /spec/replicas overrides. It is pure: the RSP controller and
// the offline preview (pkg/plan) read what it needs and write what it decides.
package schedule
