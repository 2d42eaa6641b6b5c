// Package plan computes, without any cluster, what every member cluster would receive from a
// set of federation objects: which clusters each federated object is placed in and why, the
// replicas a ReplicaSchedulingPreference gives each cluster, and the object each cluster would
// receive, with its warnings. It composes the pure decision packages (placement, rsp/schedule,
// render) exactly as the controllers do, and is what `fedctl plan` prints. It is the offline
// preview only: the decisions themselves live in those packages.
package plan
