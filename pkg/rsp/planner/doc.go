// Package planner spreads the total replicas of a ReplicaSchedulingPreference over candidate
// member clusters exactly as KubeFed's replica planner does. It is pure: the caller gathers
// the candidates, the current replicas and the estimated capacities, and writes the result.
package planner
