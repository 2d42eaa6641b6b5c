// Package federate propagates federated objects to member clusters. This part holds what the
// sync controller records of each propagation, in KubeFed's format: the PropagatedVersion
// names and the template, overrides and member object versions.
package federate
