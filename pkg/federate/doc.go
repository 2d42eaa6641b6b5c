// Package federate propagates federated objects to member clusters: the type reconciler runs
// one sync reconciler per enabled FederatedTypeConfig, and the sync reconciler writes each
// federated object's copies, status and PropagatedVersion, in KubeFed's format.
//
// The sync reconciler's files follow its phases. reconciler.go holds Reconcile, the scope and
// the finalizer; read.go reads the host's inputs and the member copies; place.go resolves the
// placement; dispatch.go runs the clusters in parallel, and cluster.go the steps in one
// cluster: read the copy, decide (decidecluster.go and Decide in decide.go, which read and
// write nothing), and write (act.go, deleteoptions.go). status.go and version.go build and
// write the status and the PropagatedVersion; strays.go releases the copies of objects that
// do not exist; events.go and result.go turn outcomes into events and the reconcile's result.
package federate
