// Package rsp tests replica scheduling end to end: fed-controller, built from this module, runs
// against a lab host with members local and cce whose kwok nodes run the pods, and the tests
// follow ReplicaSchedulingPreferences through failover, failback, capacity limits and rescaling.
package rsp
