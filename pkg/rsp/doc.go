// Package rsp is the ReplicaSchedulingPreference controller. For each preference it reads the
// target FederatedDeployment or FederatedReplicaSet, the clusters and the state of the
// workload in each member (ready pods, pods that cannot be scheduled), lets pkg/rsp/schedule and
// the planner decide, and writes the target's placement and /spec/replicas overrides and the
// preference's status.
package rsp
